"""LanceDB shard table: upserts by (cube, id), deletes, filtered cosine search, atomic rebuild."""

import numpy as np

from pipeline.filters import SearchFilter
from pipeline.records import IndexRow
from storage.vector_shard import VectorShard, sql_string, where_clause


def unit(seed):
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


def row(memory_id, seed, cube="agent-a", kind="note", tags=(), created_at=1000):
    return IndexRow(id=memory_id, cube=cube, tier="trace", kind=kind, index_text=memory_id, tags=list(tags),
                    created_at=created_at, status="active", vector=unit(seed))


def test_search_finds_the_nearest_in_the_named_cube_only(tmp_path):
    shard = VectorShard(tmp_path / "v", 384, create=True)
    shard.upsert([row("a", 1), row("b", 2), row("a", 1, cube="agent-b")])
    hits = shard.search(unit(1), ["agent-a"], 2)
    assert [(c, i) for c, i, _ in hits] == [("agent-a", "a"), ("agent-a", "b")]
    assert abs(hits[0][2] - 1.0) < 1e-4


def test_upsert_is_idempotent_and_delete_is_per_cube(tmp_path):
    shard = VectorShard(tmp_path / "v", 384, create=True)
    shard.upsert([row("a", 1), row("a", 1, cube="agent-b")])
    shard.upsert([row("a", 3)])
    assert shard.count() == 2
    shard.delete([("agent-a", "a")])
    assert shard.count("agent-a") == 0 and shard.count("agent-b") == 1


def test_a_reader_sees_new_rows_after_refresh_and_rebuild_is_atomic(tmp_path):
    writer = VectorShard(tmp_path / "v", 384, create=True)
    reader = VectorShard(tmp_path / "v", 384, create=False)
    writer.upsert([row("a", 1)])
    reader.refresh()
    assert reader.count() == 1
    assert writer.rebuild(iter([row("x", 5), row("y", 6)])) == 2
    reader.refresh()
    assert sorted(i for _, i, _ in reader.search(unit(5), ["agent-a"], 5)) == ["x", "y"]


def test_filters_are_pushed_into_the_lance_query(tmp_path):
    shard = VectorShard(tmp_path / "v", 384, create=True)
    shard.upsert([row("a", 1, kind="message", tags=["x"], created_at=10), row("b", 2, tags=["y"], created_at=20)])
    ids = lambda f: sorted(i for _, i, _ in shard.search(unit(1), ["agent-a"], 5, f))  # noqa: E731
    assert ids(SearchFilter(kinds=frozenset({"message"}))) == ["a"]
    assert ids(SearchFilter(tags=frozenset({"y"}))) == ["b"]
    assert ids(SearchFilter(since=15)) == ["b"]


def test_values_enter_filters_only_as_escaped_literals():
    assert sql_string("it's") == "'it''s'"
    clause = where_clause(["agent-a' OR '1'='1"], SearchFilter(tags=frozenset({"x'y"})))
    assert clause == "cube IN ('agent-a'' OR ''1''=''1') AND array_has_any(tags, ['x''y'])"
