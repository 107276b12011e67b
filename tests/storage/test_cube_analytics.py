"""A cube's analytic columns read from a real cube file, and the DuckDB aggregations over them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.write_decisions import WritePolicy
from storage.cube.writer import CubeWriter
from storage.cube_analytics import DAY_MS, CubeAggregates, change_mark, read_columns
from tests.builders import stored_row

MODEL = "all-MiniLM-L6-v2"
DAY = 20_000  # a day number: 2024-10-04


def row(seq: int, memory_id: str, day: int, **fields):
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    return stored_row(seq, memory_id, f"text {seq}", vector=vector, created_at=day * DAY_MS + seq, **fields)


def test_columns_cover_every_memory_and_the_mark_moves_with_a_write(tmp_path):
    path = tmp_path / "agent-a.db"
    assert read_columns(path) is None and change_mark(path) is None  # no file, and none is made
    assert not path.exists()
    writer = CubeWriter(path, WritePolicy())
    writer.apply([row(1, "m1", DAY), row(2, "m2", DAY, kind="message"), row(3, "m3", DAY + 1, tier="world",
                                                                            kind="fact")], MODEL)
    first = read_columns(path)
    assert first is not None and first.mark == change_mark(path)
    assert first.table.sort_by("created_at").to_pylist() == [
        {"created_at": DAY * DAY_MS + 1, "tier": "trace", "kind": "note", "status": "active"},
        {"created_at": DAY * DAY_MS + 2, "tier": "trace", "kind": "message", "status": "active"},
        {"created_at": (DAY + 1) * DAY_MS + 3, "tier": "world", "kind": "fact", "status": "active"},
    ]
    writer.apply([row(4, "m4", DAY + 1)], MODEL)
    assert change_mark(path) != first.mark
    writer.close()


def test_counts_and_days_are_aggregated_over_the_union_of_cubes():
    a = pa.table({"created_at": [DAY * DAY_MS, DAY * DAY_MS + 5, (DAY + 2) * DAY_MS],
                  "tier": ["trace", "trace", "world"], "kind": ["note", "note", "fact"],
                  "status": ["active", "duplicate", "active"]})
    b = pa.table({"created_at": [(DAY - 1) * DAY_MS], "tier": ["trace"], "kind": ["message"], "status": ["active"]})
    aggregates = CubeAggregates()
    union = pa.concat_tables([a, b])
    assert aggregates.counts(union) == [("trace", "message", "active", 1), ("trace", "note", "active", 1),
                                        ("trace", "note", "duplicate", 1), ("world", "fact", "active", 1)]
    assert aggregates.per_day(union, DAY * DAY_MS) == [(DAY, 2), (DAY + 2, 1)]  # the day before is left out
    aggregates.close()
