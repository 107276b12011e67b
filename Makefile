# `make serve` and `make test` bootstrap .venv on a fresh machine, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test ocr-deps system-deps ui-assets bench bench-tools bench-locomo bench-longmemeval bench-load bench-reindex lock clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: $(STAMP) ocr-deps
	$(BIN)/memos serve

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q --durations=30

# Debian packages: tesseract-ocr reads the text in stored images (the server uses it); chromium drives
# the browser tests (tests/web/). They need root, as on CI; quick when present.
ocr-deps:
	test -x /usr/bin/tesseract || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y tesseract-ocr; }

system-deps:
	test -x /usr/bin/chromium -a -x /usr/bin/tesseract || { apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium tesseract-ocr; }

# Re-vendor the UI's browser libraries from the npm registry (versions pinned in api/web/vendor_assets.py).
ui-assets: $(STAMP)
	$(BIN)/python -m api.web.vendor_assets

bench: $(STAMP)
	$(BIN)/python -m benchmarks.ingest --out benchmarks/out/ingest.json

# LoCoMo retrieval quality: every ranking configuration on one ingest, world model on and off
# (ingests cached in benchmarks/cache; about an hour on 2 cores the first time).
bench-locomo: $(STAMP)
	$(BIN)/python -m benchmarks.locomo --data ../shared/data/locomo/locomo10.json --out benchmarks/out/locomo.json

# LongMemEval-S retrieval (60 questions, ~29k turns; world model on and off): the ingest takes long on 2 cores.
bench-longmemeval: $(STAMP)
	$(BIN)/python -m benchmarks.longmemeval --data ../shared/data/longmemeval/longmemeval_s_sample60.json --out benchmarks/out/longmemeval.json

# The HTTP load generators the load benchmark drives (Debian packages; needs root).
bench-tools:
	command -v wrk >/dev/null && command -v hey >/dev/null || { apt-get update && apt-get install -y wrk hey; }

bench-load: $(STAMP) bench-tools
	$(BIN)/python -m benchmarks.load --out benchmarks/out/load.json

# The Ray Data reindex against the raw encode rate, at 10k and 100k records (cached corpora).
bench-reindex: $(STAMP)
	$(BIN)/python -m benchmarks.reindex --records 10000 --out benchmarks/out/reindex-10k.json
	$(BIN)/python -m benchmarks.reindex --records 100000 --out benchmarks/out/reindex-100k.json

# Re-resolve the pinned set from pyproject.toml (needs the registries).
lock:
	rm -rf /tmp/memos-lock && $(PYTHON) -m venv /tmp/memos-lock
	/tmp/memos-lock/bin/pip install --quiet -e '.[dev]'
	{ echo "# The whole resolved dependency set, pinned. Regenerate with: make lock"; \
	  echo "# torch resolves to the CPU build that lies on these machines (/opt/wheels, via pip's config)."; \
	  /tmp/memos-lock/bin/pip freeze --exclude-editable | sed 's/+cpu$$//'; echo "setuptools==84.2.1"; } > requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info
