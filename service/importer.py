"""Bulk import of a file of memories into one cube, as a Ray job over the stage chain.

The file is our export (JSON lines or Parquet) or any table with at least `content`; DuckDB reads
it in chunks. Each chunk goes through every stage of the chain (actors/stage_chain.py, the IMPORT
route), as live writes do: world facts are read from imported messages, notes and personas, and
near duplicates are linked only when asked. A row carrying a `vector` of the model's width keeps it
(the embed stage is given it instead of embedding the row). So the cube file, Lance and tantivy
end up as if the memories had been posted — minus the intake log: an import is re-run, not
replayed (ids make a second run a no-op).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import ray

from actors.stage_chain import IMPORT, Stage, StageChain
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


def carried_vectors(batch: pa.RecordBatch, dim: int) -> list[np.ndarray | None]:
    """Per row, the vector the file carries when it has the model's width (else None: embed it)."""
    if "vector" not in batch.schema.names:
        return [None] * batch.num_rows
    kind = batch.schema.field("vector").type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)):
        return [None] * batch.num_rows
    values = batch["vector"].to_numpy(zero_copy_only=False)  # one array (or None) per row
    return [np.asarray(v, dtype=np.float32) if v is not None and len(v) == dim else None for v in values]


def import_file(
    path: Path,
    cube: Cube,
    agent: str,
    chain: StageChain,
    dim: int,
    *,
    max_chars: int,
    near_duplicates: bool = False,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportTotals:
    totals = ImportTotals()
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
        entries = []
        carried = carried_vectors(chunk, dim)
        given: dict[str, np.ndarray] = {}
        rows = chunk.drop_columns(["vector"]) if "vector" in chunk.schema.names else chunk
        for i, row in enumerate(rows.to_pylist()):
            row_no += 1
            try:
                draft = row_to_draft(row, cube.id, agent, now, max_chars)
            except BadRow as exc:
                totals.skipped_count += 1
                if len(totals.skipped) < 20:
                    totals.skipped.append(f"row {row_no}: {exc}")
                continue
            # Negative seqs: an import row can never be mistaken for an intake entry.
            entries.append({"seq": -row_no, "job_id": "import", "op": "add", "cube": cube.id,
                            "memory_id": draft.id, "payload": encode_draft(draft.as_dict())})
            if carried[i] is not None:
                given[draft.id] = carried[i]
        totals.read += chunk.num_rows
        if not entries:
            continue
        totals.reused_vectors += len(given)
        batch = pa.RecordBatch.from_pylist(entries, schema=INTAKE_SCHEMA)
        in_flight.append(chain.submit(batch, cube.shard, IMPORT, vectors=given, near_duplicates=near_duplicates))
        if len(in_flight) >= IN_FLIGHT:
            land(in_flight.pop(0))
    for ref in in_flight:
        land(ref)
    ray.get(chain.actor(Stage.WRITE, cube.shard).settle.remote())
    return totals
