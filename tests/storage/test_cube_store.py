"""The canonical cube file: migrations, applying pipeline rows, reads, the change feed."""

import numpy as np
import pytest

from pipeline.errors import Invalid
from storage.cube_store import MIGRATIONS, CubeStore
from storage.sqlite import schema_version

MODEL = "all-MiniLM-L6-v2"


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


def row(seq, memory_id, content="text", op="add", **extra):
    base = {
        "seq": seq, "job_id": "job", "op": op, "id": memory_id, "cube": "agent-a", "agent": "a", "tier": "trace",
        "kind": "note", "content": content, "index_text": content, "tags": extra.pop("tags", []), "metadata": "{}",
        "created_at": extra.pop("created_at", 1000 + seq), "updated_at": 2000 + seq, "content_hash": f"h-{content}",
        "source_ids": [], "tokens": 2, "base_version": extra.pop("base_version", None), "reembed": True,
        "error": None, "vector": extra.pop("vector", vec(seq)), "dedupe": "new", "status": "active",
        "duplicate_of": None, "near_duplicate_of": None, "near_duplicate_score": None,
    }
    base.update(extra)
    return base


@pytest.fixture
def store(tmp_path):
    return CubeStore(tmp_path / "agent-a.db", create=True)


def test_migrations_apply_to_an_empty_file_once(tmp_path):
    first = CubeStore(tmp_path / "c.db", create=True)
    first.close()
    again = CubeStore(tmp_path / "c.db", create=True)
    assert schema_version(again._conn) == len(MIGRATIONS)


def test_reader_never_creates_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        CubeStore(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_add_stores_the_whole_record_and_reports_what_to_index(store):
    result = store.apply([row(1, "m1", "hello world", tags=["x", "y", "x"])], MODEL)
    assert result.done == [1] and result.failed == []
    assert [r["id"] for r in result.index_upserts] == ["m1"]
    rec = store.get("m1")
    assert rec == {
        "id": "m1", "cube": "agent-a", "agent": "a", "tier": "trace", "kind": "note", "content": "hello world",
        "tags": ["x", "y", "x"], "metadata": {}, "created_at": 1001, "updated_at": 2001, "version": 1,
        "status": "active", "content_hash": "h-hello world", "source_ids": [], "duplicate_of": None, "tokens": 2,
        "episode": None, "tool": None, "feedback": 0, "valid_from": None, "valid_to": None,
    }
    assert store.list(limit=10, tag="y").items[0]["id"] == "m1"


def test_replayed_add_changes_nothing_but_reindexes(store):
    store.apply([row(1, "m1", "original")], MODEL)
    again = store.apply([row(1, "m1", "original")], MODEL)
    assert again.done == [1]
    assert [r["id"] for r in again.index_upserts] == ["m1"]
    assert store.count() == 1 and store.get("m1")["version"] == 1


def test_update_keeps_the_old_version_and_checks_the_base(store):
    store.apply([row(1, "m1", "v1")], MODEL)
    ok = store.apply([row(2, "m1", "v2", op="update", base_version=1)], MODEL)
    assert ok.done == [2]
    assert store.get("m1")["content"] == "v2" and store.get("m1")["version"] == 2
    assert [v["content"] for v in store.versions("m1")] == ["v1"]
    stale = store.apply([row(3, "m1", "v3", op="update", base_version=1)], MODEL)
    assert stale.failed == [(3, "conflict", "memory m1 is at version 2, not 1")]
    replay = store.apply([row(2, "m1", "v2", op="update", base_version=1)], MODEL)
    assert replay.done == [2] and store.get("m1")["version"] == 2  # a replay is not applied twice


def test_update_of_a_missing_memory_fails_not_found(store):
    result = store.apply([row(1, "nope", op="update", base_version=1)], MODEL)
    assert result.failed == [(1, "not_found", "memory nope does not exist")]


def test_deleting_an_original_promotes_its_oldest_duplicate(store):
    store.apply([
        row(1, "orig", "same"),
        row(2, "dup1", "same", status="duplicate", dedupe="duplicate", duplicate_of="orig"),
        row(3, "dup2", "same", status="duplicate", dedupe="duplicate", duplicate_of="orig"),
    ], MODEL)
    result = store.apply([row(4, "orig", op="delete")], MODEL)
    assert result.index_deletes == ["orig"]
    assert [r["id"] for r in result.index_upserts] == ["dup1"]
    assert store.get("orig") is None
    assert (store.get("dup1")["status"], store.get("dup1")["duplicate_of"]) == ("active", None)
    assert (store.get("dup2")["status"], store.get("dup2")["duplicate_of"]) == ("duplicate", "dup1")
    assert store.links_from(["dup2"], "duplicate_of") == [("dup2", "dup1")]


def test_list_pages_newest_first_with_a_cursor(store):
    store.apply([row(i, f"m{i}", f"t{i}") for i in range(1, 6)], MODEL)
    first = store.list(limit=2)
    assert [r["id"] for r in first.items] == ["m5", "m4"]
    second = store.list(limit=2, cursor=first.next_cursor)
    third = store.list(limit=2, cursor=second.next_cursor)
    assert [r["id"] for r in second.items] == ["m3", "m2"]
    assert [r["id"] for r in third.items] == ["m1"] and third.next_cursor is None
    with pytest.raises(Invalid):
        store.list(limit=2, cursor="garbage!")


def test_change_feed_reports_upserts_and_deletes_since_a_position(store):
    store.apply([row(1, "m1"), row(2, "m2")], MODEL)
    start = store.changes_since(0)
    assert start.reset and sorted(r["id"] for r in start.upserts) == ["m1", "m2"]
    store.apply([row(3, "m1", op="delete"), row(4, "m3")], MODEL)
    feed = store.changes_since(start.seq)
    assert not feed.reset
    assert [r["id"] for r in feed.upserts] == ["m3"] and feed.deletes == ["m1"]
    assert np.allclose(feed.upserts[0]["vector"], vec(4))


def test_an_id_dedupe_remembered_but_the_file_lacks_is_stored_not_dropped(store):
    # Regression: a writer that died mid-batch left dedupe believing the id existed.
    result = store.apply([row(1, "m1", "lost?", dedupe="exists", status=None)], MODEL)
    assert result.done == [1]
    assert store.get("m1")["status"] == "active"


def test_active_count_follows_adds_duplicates_promotions_and_deletes(store):
    store.apply([
        row(1, "a", "x"),
        row(2, "b", "x", status="duplicate", dedupe="duplicate", duplicate_of="a"),
        row(3, "c", "y"),
    ], MODEL)
    assert store.active_count() == 2 == store.count()
    store.apply([row(4, "a", op="delete")], MODEL)  # b is promoted in a's place
    assert store.active_count() == 2 == store.count()
    store.apply([row(5, "c", op="delete"), row(6, "b", op="delete")], MODEL)
    assert store.active_count() == 0
