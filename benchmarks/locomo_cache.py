"""Reusable ingests for the retrieval harnesses (LoCoMo, LongMemEval): one server data directory
per (data file, world model on/off, code that shapes what is indexed), kept in benchmarks/cache.

Ingesting LoCoMo takes minutes on two cores and LongMemEval far longer, while a ranking change
needs only new searches. A data directory is reused only when the data file, the harness's own
turn-to-memory code and every source file that decides what gets indexed (parsing, context, world
facts, the embedder) are byte-identical to the run that built it, so a change to any of them
re-ingests by itself; a ranking change (pipeline/ranking/, service/hybrid_search.py) does not.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "cache"
MARK = "ingested.json"  # written last: a directory without it is an interrupted ingest

# What a stored memory's index text, context, facts and vector are made by. Storage and schema files
# are left out on purpose: the server migrates an older data directory when it opens it, and other
# work changes them often without changing what a search can find.
INDEX_SOURCES = (
    "pipeline/parse.py", "pipeline/context.py", "pipeline/embed.py", "pipeline/encoder.py",
    "pipeline/world_stage.py", "pipeline/world_model.py", "pipeline/world_facts",
)


def _digest_paths(digest: "hashlib._Hash", paths: list[Path]) -> None:
    for path in paths:
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            if f.exists():
                digest.update(str(f.relative_to(ROOT)).encode())
                digest.update(f.read_bytes())


def cache_key(data: Path, harness: str, world_model: bool, extra: str = "") -> str:
    digest = hashlib.sha256()
    digest.update(Path(data).read_bytes())
    digest.update(f"{harness}\x1f{world_model}\x1f{extra}".encode())
    _digest_paths(digest, [ROOT / p for p in INDEX_SOURCES])
    return digest.hexdigest()[:16]


def cached_dir(data: Path, harness: str, world_model: bool, extra: str = "") -> Path:
    wm = "wm-on" if world_model else "wm-off"
    return CACHE / f"{harness}-{wm}-{cache_key(data, harness, world_model, extra)}" / "data"


def ingested(data_dir: Path) -> dict | None:
    """The ingest figures of a finished ingest in `data_dir`, or None (then it must be made anew)."""
    mark = data_dir.parent / MARK
    return json.loads(mark.read_text()) if mark.exists() and data_dir.exists() else None


def mark_ingested(data_dir: Path, figures: dict) -> None:
    (data_dir.parent / MARK).write_text(json.dumps(figures))


def clear(data_dir: Path) -> None:
    """An interrupted ingest's directory, removed so the next run starts clean."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
