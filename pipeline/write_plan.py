"""Write planning: a deduped batch becomes per-cube row lists, in intake order, vectors as numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.records import IndexRow, Status


def vectors_of(batch: pa.RecordBatch) -> list[np.ndarray | None]:
    """The `vector` column as one numpy view per row (None where the row has no new vector)."""
    column = batch["vector"]
    dim = column.type.list_size
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    values = column.values.to_numpy(zero_copy_only=False).reshape(-1, dim)
    # A fixed-size list keeps a slot for null rows too, so row i is values[offset + i].
    offset = column.offset
    return [values[offset + i] if ok else None for i, ok in enumerate(valid)]


def plan_writes(batch: pa.RecordBatch) -> dict[str, list[dict[str, Any]]]:
    vectors = vectors_of(batch)
    names = [n for n in batch.schema.names if n != "vector"]
    rows = batch.select(names).to_pylist()
    plan: dict[str, list[dict[str, Any]]] = {}
    for row, vector in zip(rows, vectors):
        row["vector"] = vector
        plan.setdefault(row["cube"], []).append(row)
    return plan


def split_index_rows(rows: list[IndexRow]) -> tuple[list[IndexRow], list[tuple[str, str]]]:
    """Rows the search indexes must hold (active) and (cube, id) keys they must drop (the rest)."""
    keep = [r for r in rows if r.status == Status.ACTIVE and r.vector is not None]
    drop = [(r.cube, r.id) for r in rows if r not in keep]
    return keep, drop
