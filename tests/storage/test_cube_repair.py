"""A damaged row on a real cube file (issue 13): every read leaves it out and goes on; repair makes it readable."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.timefmt import MAX_MS, MIN_MS
from pipeline.write_decisions import WritePolicy
from storage.cube.reader import CubeReader, decode_cursor, encode_cursor
from storage.cube.repair import find_damage, repair_file
from storage.cube.writer import CubeWriter
from tests.builders import stored_row

MODEL = "all-MiniLM-L6-v2"


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def cube(tmp_path):
    path = tmp_path / "agent-a.db"
    writer = CubeWriter(path, WritePolicy())
    writer.apply([stored_row(i, f"m{i}", f"note {i}", vector=vec(i), created_at=1000 + i, tags=["t"])
                  for i in range(1, 7)], MODEL)
    writer.close()
    return path


def damage(path, sql: str, memory_id: str) -> None:
    writer = CubeWriter(path, WritePolicy())
    with writer._conn:
        writer._conn.execute(sql, (memory_id,))
    writer.close()


def test_every_read_leaves_out_a_damaged_row_and_pages_on_past_it(cube):
    damage(cube, "UPDATE memories SET created_at = 253402300800000 WHERE id = ?", "m2")
    damage(cube, "UPDATE memories SET tags = 'not json' WHERE id = ?", "m4")
    damage(cube, "UPDATE memories SET content = CAST(x'ff' AS TEXT) WHERE id = ?", "m5")
    reader = CubeReader(cube)
    assert reader.get("m2") is None and reader.get("m4") is None and reader.get("m5") is None
    assert sorted(reader.get_many([f"m{i}" for i in range(1, 7)])) == ["m1", "m3", "m6"]
    assert [r.id for r in reader.iter_records(batch_size=2)] == ["m1", "m3", "m6"]
    # Pages of two: a page whose rows are damaged is short, and the listing still reaches the end.
    seen, cursor = [], None
    while True:
        page = reader.list(limit=2, cursor=cursor, status=None)
        seen += [r.id for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["m6", "m3", "m1"]
    assert reader.timeline("m2", 3, 3) is None
    assert [r.id for r in reader.timeline("m3", 3, 3)[0]] == ["m1", "m3", "m6"]
    assert {r.id for r in reader.index_rows()} == {"m1", "m2", "m3", "m5", "m6"}  # m4's tags cannot be indexed
    reader.close()


def test_repair_finds_each_damaged_row_and_makes_it_readable(cube):
    damage(cube, "UPDATE memories SET created_at = -99999999999999999 WHERE id = ?", "m1")
    damage(cube, "UPDATE memories SET metadata = '[1, 2]' WHERE id = ?", "m3")
    damage(cube, "UPDATE memories SET version = 'two' WHERE id = ?", "m6")
    found = {d.memory_id: d.reason for d in find_damage(cube)}
    assert set(found) == {"m1", "m3", "m6"}
    assert "created_at" in found["m1"] and "metadata" in found["m3"] and "version" in found["m6"]
    assert {d.memory_id: d.fixed for d in repair_file(cube)} == {"m1": ["created_at"], "m3": ["metadata"],
                                                                  "m6": ["metadata", "version"]}
    reader = CubeReader(cube)
    assert reader.get("m1").created_at == MIN_MS
    assert reader.get("m3").metadata == {"repaired": {"metadata": "[1, 2]"}}
    assert reader.get("m6").version == 1 and reader.get("m6").metadata == {"repaired": {"version": "two"}}
    assert [r.id for r in reader.iter_records()] == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert find_damage(cube) == []
    assert reader.changes_since(reader.last_change() - 3).upserts  # caches that follow the feed reload them
    reader.close()


def test_a_cursor_is_a_position_and_nothing_else_reads_as_one():
    assert decode_cursor(encode_cursor(MAX_MS, "01M8:x.y-z")) == (MAX_MS, "01M8:x.y-z")
    assert decode_cursor(encode_cursor(-5, "")) == (-5, "")
    for bad in ("bm90IGEgY3Vyc29y", "1e20.x", "12.a/b", "9999999999999999.x", ""):
        with pytest.raises(Exception, match="cursor is not one this server issued"):
            decode_cursor(bad)
