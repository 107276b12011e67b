#!/usr/bin/env bash
# Installs MemOS into a virtual environment on a machine without Docker (a VM, an on-premises server,
# every node of the `ray up` cluster): the pinned set of requirements.lock, torch's CPU build from
# PyTorch's index, this checkout (editable, as `make` installs it), and the ONNX export of the
# embedding model, so the server never makes it at run time. Safe to run again (upgrades too).
#   deploy/install.sh [VENV] [MODELS_DIR]      defaults: /opt/memos/venv /opt/memos/models
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-/opt/memos/venv}"
models="${2:-/opt/memos/models}"
python="${PYTHON:-python3.11}"
# PyPI's Linux torch is the CUDA build (gigabytes of NVIDIA libraries); the embedder runs on the CPU.
torch_index="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"

test -x "$venv/bin/python" || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
# `torch==X` in the lock is satisfied by the installed `X+cpu`, so the second install keeps it.
"${pip[@]}" --no-deps --index-url "$torch_index" "$(grep '^torch==' "$src/requirements.lock")"
"${pip[@]}" -r "$src/requirements.lock"
"${pip[@]}" --no-deps --no-build-isolation -e "$src"
MEMOS_MODEL_CACHE_DIR="$models" "$venv/bin/python" -c "from configs import Settings; \
from pipeline.encoder import ensure_onnx, model_spec; s = Settings(); print(ensure_onnx(model_spec(s.embed_model), s.models_dir))"
