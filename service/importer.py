"""Bulk import of a file of memories into one cube, as a Ray job over the write-path actors.

The file is our export (JSON lines or Parquet) or any table with at least `content`; DuckDB reads
it in chunks. Rows carrying a `vector` of the model's width keep it (no re-embedding); the others
go through the embed pool. Rows then pass the same dedupe and write actors as live writes, so
the cube file, Lance and tantivy end up exactly as if the memories had been posted — minus the
intake log: an import is re-run, not replayed (ids make a second run a no-op).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import ray

from actors.cluster import StageActors
from pipeline.embed import with_vectors
from pipeline.errors import Invalid
from pipeline.import_rows import BadRow, row_to_draft
from pipeline.parse import encode_draft
from pipeline.records import INTAKE_SCHEMA
from pipeline.timefmt import now_ms
from storage.registry import Cube

CHUNK_ROWS = 2_000
IN_FLIGHT = 3


@dataclass
class ImportTotals:
    read: int = 0
    imported: int = 0
    skipped: list[str] = field(default_factory=list)  # "row N: why", the first 20
    skipped_count: int = 0
    reused_vectors: int = 0

    def view(self) -> dict:
        return {"read": self.read, "imported": self.imported, "skipped": self.skipped_count,
                "skipped_examples": self.skipped, "reused_vectors": self.reused_vectors}


def read_chunks(path: Path, rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """The file in record batches, read by DuckDB (Parquet, or JSON lines)."""
    if not path.is_file():
        raise Invalid(f"{path} is not a file")
    reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_json_auto"
    con = duckdb.connect()
    try:
        relation = con.sql(f"SELECT * FROM {reader}($path)", params={"path": str(path)})
        yield from relation.to_arrow_reader(rows)
    except duckdb.Error as exc:
        raise Invalid(f"cannot read {path.name}: {exc}") from exc
    finally:
        con.close()


def _vectors(batch: pa.RecordBatch, dim: int) -> np.ndarray | None:
    if "vector" not in batch.schema.names:
        return None
    column = batch["vector"]
    if column.null_count:
        return None
    values = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return values.reshape(batch.num_rows, dim) if values.size == batch.num_rows * dim else None


def import_file(
    path: Path,
    cube: Cube,
    agent: str,
    actors: StageActors,
    dim: int,
    *,
    max_chars: int,
    near_duplicates: bool = False,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportTotals:
    totals = ImportTotals()
    parse = itertools.cycle(actors.parse)
    embed = itertools.cycle(actors.embed)
    in_flight: list = []
    row_no = 0
    now = now_ms()

    def land(ref) -> None:
        out = ray.get(ref)
        totals.imported += len(out["done"])
        totals.skipped_count += len(out["failed"])
        totals.skipped += [f"row {-seq}: {msg}" for seq, _, msg in out["failed"]][: 20 - len(totals.skipped)]
        progress(totals.imported + totals.skipped_count)

    for chunk in read_chunks(path):
        entries, keep = [], []
        for i, row in enumerate(chunk.to_pylist()):
            row_no += 1
            try:
                draft = row_to_draft(row, cube.id, agent, now, max_chars)
            except (BadRow, ValueError) as exc:
                totals.skipped_count += 1
                if len(totals.skipped) < 20:
                    totals.skipped.append(f"row {row_no}: {exc}")
                continue
            # Negative seqs: an import row can never be mistaken for an intake entry.
            entries.append({"seq": -row_no, "job_id": "import", "op": "add", "cube": cube.id,
                            "memory_id": draft["id"], "payload": encode_draft(draft)})
            keep.append(i)
        totals.read += chunk.num_rows
        if not entries:
            continue
        batch = pa.RecordBatch.from_pylist(entries, schema=INTAKE_SCHEMA)
        parsed = next(parse).parse.remote(batch)
        vectors = _vectors(chunk, dim)
        if vectors is not None:
            embedded = with_vectors(ray.get(parsed), vectors[keep])
            totals.reused_vectors += len(keep)
        else:
            embedded = next(embed).embed.remote(parsed)
        deduped = actors.dedupe[cube.shard].dedupe.remote(embedded, near_duplicates)
        in_flight.append(actors.write[cube.shard].write.remote(deduped))
        if len(in_flight) >= IN_FLIGHT:
            land(in_flight.pop(0))
    for ref in in_flight:
        land(ref)
    ray.get(actors.write[cube.shard].settle.remote())
    return totals
