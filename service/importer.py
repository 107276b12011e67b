"""Offline import (`memos import --offline`): the interchange import engine on a local Ray, server stopped.

The same engine as the server's `POST /v1/import` (service/interchange.py `ImportEngine`): the
file is checked whole first, then planned and written batch by batch through the stage chain's
IMPORT route, into the cube files, Lance and tantivy directly. `read_chunks` stays for callers
that read a table of rows themselves (the web UI's upload page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa

from actors import cluster
from actors.stage_chain import StageChain
from configs import Settings
from pipeline.access import Caller, Role
from pipeline.encoder import model_spec
from pipeline.interchange.plan import OnConflict, Tally
from pipeline.interchange.sources import table_rows
from pipeline.interchange.model import LineError
from pipeline.errors import Invalid
from service.access import Access
from service.interchange import ImportEngine, check_source
from storage.paths import DataPaths
from storage.registry import Registry

CHUNK_ROWS = 2_000
_JSON_COLUMNS = ("metadata", "tool")


@dataclass(frozen=True)
class OfflineImport:
    path: Path
    cube: str | None
    agent: str
    format: str = "auto"
    dry_run: bool = False
    on_conflict: OnConflict = OnConflict.SKIP
    near_duplicates: bool = False


def offline_import(settings: Settings, job: OfflineImport,
                   progress: Callable[[int, int], None] = lambda done, total: None) -> tuple[str, Tally]:
    """Check the file, then write it into the cube (nothing with `dry_run`); the cube id and the counts."""
    paths = DataPaths(settings.data_dir)
    paths.ensure()
    registry = Registry(paths.registry_db, settings.n_shards)
    try:
        cube = Access(registry).require(Caller(job.agent), job.cube, Role.WRITE)
        source, total = check_source(job.path, job.format)
        dim = model_spec(settings.embed_model).dim
        done = 0

        def advance(n: int, tally: Tally) -> None:
            nonlocal done
            done += n
            progress(done, total)

        if job.dry_run:
            engine = ImportEngine(paths, None, cube, job.agent, settings.embed_model, dim)
            return cube.id, engine.run(source, job.on_conflict, advance)
        cluster.connect(settings)
        try:
            actors = cluster.spawn(settings, registry.shards(), dim)
            engine = ImportEngine(paths, StageChain(actors), cube, job.agent, settings.embed_model, dim,
                                  near_duplicates=job.near_duplicates)
            return cube.id, engine.run(source, job.on_conflict, advance)
        finally:
            cluster.shutdown()
    finally:
        registry.close()


def read_chunks(path: Path, rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """A table of rows (JSON lines or Parquet) in record batches. Free-JSON columns (`metadata`,
    `tool`) are JSON text, so no row's keys are widened into another's (issue 15: DuckDB's
    read_json_auto filled every row's metadata with the keys of all the others, set to null)."""
    if not path.is_file():
        raise Invalid(f"{path} is not a file")
    batch: list[dict] = []
    try:
        for _, row in table_rows(path):
            batch.append({k: (orjson.dumps(v).decode() if k in _JSON_COLUMNS and isinstance(v, (dict, list)) else v)
                          for k, v in row.items()})
            if len(batch) >= rows:
                yield _batch(batch)
                batch = []
    except LineError as exc:
        raise Invalid(f"cannot read {path.name}: {exc}") from None
    if batch:
        yield _batch(batch)


def _batch(rows: list[dict]) -> pa.RecordBatch:
    names = list(dict.fromkeys(k for r in rows for k in r))
    return pa.RecordBatch.from_pylist([{n: r.get(n) for n in names} for r in rows])
