"""The canonical cube file, on a real fresh file: migrations, applying pipeline rows, reads, the change feed,
and the tier writes (world facts, skills, episodes, feedback, links)."""

import numpy as np
import orjson
import pytest

from pipeline.errors import Invalid
from pipeline.records import MemoryRecord
from pipeline.world_facts.fact import Predicate, WorldFact
from pipeline.write_decisions import WritePolicy
from storage.cube.reader import SPEAKERS_AMONG, CubeReader
from storage.cube.schema import MIGRATIONS
from storage.cube.writer import CubeWriter
from storage.sqlite import connect, schema_version
from tests.builders import stored_row

MODEL = "all-MiniLM-L6-v2"


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


def row(seq, memory_id, content="text", op="add", **extra):
    return stored_row(seq, memory_id, content, op, **{"vector": vec(seq), **extra})


@pytest.fixture
def store(tmp_path):
    """A fresh cube file, written the way the shard's write actor writes it."""
    writer = CubeWriter(tmp_path / "agent-a.db", WritePolicy())
    yield writer
    writer.close()


def test_migrations_apply_to_an_empty_file_once(tmp_path):
    CubeWriter(tmp_path / "c.db", WritePolicy()).close()
    again = CubeWriter(tmp_path / "c.db", WritePolicy())
    assert schema_version(again._conn) == len(MIGRATIONS)


def test_reader_never_creates_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        CubeReader(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_add_stores_the_whole_record_and_reports_what_to_index(store):
    result = store.apply([row(1, "m1", "hello world", tags=["x", "y", "x"])], MODEL)
    assert result.done == [1] and result.failed == []
    assert [r.id for r in result.index_upserts] == ["m1"]
    assert store.get("m1") == MemoryRecord(
        id="m1", cube="agent-a", agent="a", tier="trace", kind="note", content="hello world",
        tags=["x", "y", "x"], metadata={}, created_at=1001, updated_at=2001, version=1,
        status="active", content_hash="h-hello world", source_ids=[], duplicate_of=None, tokens=2,
        episode=None, tool=None, feedback=0, valid_from=None, valid_to=None,
    )
    assert store.list(limit=10, tag="y").items[0].id == "m1"


def test_replayed_add_changes_nothing_but_reindexes(store):
    store.apply([row(1, "m1", "original")], MODEL)
    again = store.apply([row(1, "m1", "original")], MODEL)
    assert again.done == [1]
    assert [r.id for r in again.index_upserts] == ["m1"]
    assert store.count() == 1 and store.get("m1").version == 1


def test_update_keeps_the_old_version_and_checks_the_base(store):
    store.apply([row(1, "m1", "v1")], MODEL)
    ok = store.apply([row(2, "m1", "v2", op="update", base_version=1)], MODEL)
    assert ok.done == [2]
    assert (store.get("m1").content, store.get("m1").version) == ("v2", 2)
    assert [v["content"] for v in store.versions("m1")] == ["v1"]
    stale = store.apply([row(3, "m1", "v3", op="update", base_version=1)], MODEL)
    assert stale.failed == [(3, "conflict", "memory m1 is at version 2, not 1")]
    replay = store.apply([row(2, "m1", "v2", op="update", base_version=1)], MODEL)
    assert replay.done == [2] and store.get("m1").version == 2  # a replay is not applied twice


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
    assert [r.id for r in result.index_upserts] == ["dup1"]
    assert store.get("orig") is None
    assert (store.get("dup1").status, store.get("dup1").duplicate_of) == ("active", None)
    assert (store.get("dup2").status, store.get("dup2").duplicate_of) == ("duplicate", "dup1")
    assert store.links_from(["dup2"], "duplicate_of") == [("dup2", "dup1")]


def test_list_pages_newest_first_with_a_cursor(store):
    store.apply([row(i, f"m{i}", f"t{i}") for i in range(1, 6)], MODEL)
    first = store.list(limit=2)
    assert [r.id for r in first.items] == ["m5", "m4"]
    second = store.list(limit=2, cursor=first.next_cursor)
    third = store.list(limit=2, cursor=second.next_cursor)
    assert [r.id for r in second.items] == ["m3", "m2"]
    assert [r.id for r in third.items] == ["m1"] and third.next_cursor is None
    with pytest.raises(Invalid):
        store.list(limit=2, cursor="garbage!")


def test_change_feed_reports_upserts_and_deletes_since_a_position(store):
    store.apply([row(1, "m1"), row(2, "m2")], MODEL)
    start = store.changes_since(0)
    assert start.reset and sorted(r.id for r in start.upserts) == ["m1", "m2"]
    store.apply([row(3, "m1", op="delete"), row(4, "m3")], MODEL)
    feed = store.changes_since(start.seq)
    assert not feed.reset
    assert [r.id for r in feed.upserts] == ["m3"] and feed.deletes == ["m1"]
    assert np.allclose(feed.upserts[0].vector, vec(4))


def test_an_id_dedupe_remembered_but_the_file_lacks_is_stored_not_dropped(store):
    # Regression: a writer that died mid-batch left dedupe believing the id existed.
    result = store.apply([row(1, "m1", "lost?", dedupe="exists", status=None)], MODEL)
    assert result.done == [1]
    assert store.get("m1").status == "active"


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


# --- world facts ---------------------------------------------------------------------------------

def lives_in(city: str, at: int, source: str, confidence: float = 0.8) -> WorldFact:
    return WorldFact("Alice", Predicate.LIVES_IN, city, True, confidence, at, (source,))


def fact(seq: int, fact_id: str, world: WorldFact, **attrs) -> dict:
    text = world.render()
    return row(seq, fact_id, text, op="fact", tier="world", kind="fact", metadata=orjson.dumps(world.to_dict()).decode(),
               created_at=world.valid_from, updated_at=world.valid_from, source_ids=list(world.source_ids),
               attrs=orjson.dumps({"fact": world.to_dict(), **attrs}).decode())


def test_a_new_fact_is_stored_active_and_reports_nothing_itself(store):
    result = store.apply([row(1, "t1", "Alice lives in Paris"), fact(1, "f1", lives_in("Paris", 1000, "t1"))], MODEL)
    assert result.done == [1]  # the fact rides with its trace
    stored = store.get("f1")
    assert (stored.tier, stored.kind, stored.status, stored.valid_from, stored.valid_to) == (
        "world", "fact", "active", 1000, None)
    assert [s.id for s in store.active_facts("alice")] == ["f1"]
    assert store.links_from(["f1"], "derived_from") == [("f1", "t1")]


def test_a_later_contradicting_fact_supersedes_the_earlier_in_the_same_batch(store):
    result = store.apply([
        fact(1, "f-paris", lives_in("Paris", 1000, "t1")),
        fact(2, "f-berlin", lives_in("Berlin", 5000, "t2")),
    ], MODEL)
    old, new = store.get("f-paris"), store.get("f-berlin")
    assert (old.status, old.valid_to, old.metadata["valid_to"]) == ("superseded", 5000, 5000)
    assert new.status == "active"
    assert [s.id for s in store.active_facts("Alice")] == ["f-berlin"]
    assert store.links_from(["f-berlin"], "supersedes") == [("f-berlin", "f-paris")]
    assert "f-paris" in result.index_deletes
    assert [v["version"] for v in store.versions("f-paris")] == [1]


def test_an_older_statement_of_a_replaced_fact_is_stored_as_history(store):
    store.apply([fact(1, "f-berlin", lives_in("Berlin", 5000, "t2"))], MODEL)
    store.apply([fact(2, "f-paris", lives_in("Paris", 1000, "t1"))], MODEL)  # a late import of an old trace
    assert (store.get("f-paris").status, store.get("f-paris").valid_to) == ("superseded", 5000)
    assert store.get("f-berlin").status == "active"
    assert store.links_from(["f-berlin"], "supersedes") == [("f-berlin", "f-paris")]


def test_a_restated_fact_raises_confidence_on_the_stored_one_instead_of_a_second_record(store):
    store.apply([fact(1, "f1", lives_in("Paris", 1000, "t1", 0.6))], MODEL)
    store.apply([fact(2, "f2", lives_in("Paris", 3000, "t2", 0.5))], MODEL)
    assert store.get("f2") is None
    merged = store.get("f1")
    assert (merged.version, merged.metadata["confidence"], merged.source_ids) == (2, 0.8, ["t1", "t2"])
    assert sorted(dst for _, dst in store.links_from(["f1"], "derived_from")) == ["t1", "t2"]


def test_a_replayed_fact_is_a_no_op(store):
    first = [fact(1, "f-paris", lives_in("Paris", 1000, "t1")), fact(2, "f-berlin", lives_in("Berlin", 5000, "t2"))]
    store.apply(first, MODEL)
    before = (store.get("f-paris"), store.get("f-berlin"))
    store.apply(first, MODEL)
    assert (store.get("f-paris"), store.get("f-berlin")) == before


def test_a_correction_supersedes_the_fact_it_corrects_whatever_it_says(store):
    store.apply([fact(1, "f-paris", lives_in("Paris", 1000, "t1"))], MODEL)
    fixed = WorldFact("Alice", Predicate.WORKS_AT, "Acme", True, 0.9, 4000, ("feedback:f-paris",))
    store.apply([fact(2, "f-fixed", fixed, corrects="f-paris")], MODEL)
    assert (store.get("f-paris").status, store.get("f-paris").valid_to) == ("superseded", 4000)
    assert store.links_from(["f-fixed"], "supersedes") == [("f-fixed", "f-paris")]


# --- feedback ------------------------------------------------------------------------------------

def feedback(seq: int, memory_id: str, signal: str, **attrs) -> dict:
    return row(seq, memory_id, op="feedback", attrs=orjson.dumps({"signal": signal, "at": 9000, **attrs}).decode())


def test_feedback_moves_a_memory_score_once_even_when_replayed(store):
    store.apply([row(1, "m1")], MODEL)
    store.apply([feedback(2, "m1", "useful"), feedback(3, "m1", "useful"), feedback(4, "m1", "not_useful")], MODEL)
    store.apply([feedback(3, "m1", "useful")], MODEL)  # a replay of seq 3
    assert store.get("m1").feedback == 1
    assert [f["signal"] for f in store.feedback_of("m1")] == ["useful", "useful", "not_useful"]


def test_outdated_feedback_closes_a_fact_without_down_ranking_it(store):
    store.apply([fact(1, "f1", lives_in("Paris", 1000, "t1"))], MODEL)
    result = store.apply([feedback(2, "f1", "outdated")], MODEL)
    closed = store.get("f1")
    assert (closed.status, closed.valid_to, closed.feedback) == ("superseded", 9000, 0)
    assert result.done == [2] and result.index_deletes == ["f1"]


def test_wrong_feedback_on_a_trace_down_ranks_it_and_keeps_it(store):
    store.apply([row(1, "m1")], MODEL)
    store.apply([feedback(2, "m1", "wrong")], MODEL)
    assert (store.get("m1").status, store.get("m1").feedback) == ("active", -1)


def test_feedback_on_a_missing_memory_fails_not_found(store):
    result = store.apply([feedback(1, "ghost", "useful")], MODEL)
    assert result.failed == [(1, "not_found", "memory ghost does not exist")] and store.feedback_of("ghost") == []


# --- skills, episodes, links ---------------------------------------------------------------------

def skill(seq: int, version: int, content: str) -> dict:
    return row(seq, "skill-deploy", content, op="skill", tier="skill", kind="skill",
               metadata=orjson.dumps({"id": "skill-deploy", "version": version, "name": "deploy"}).decode())


def test_a_new_skill_version_replaces_the_record_and_keeps_the_old_version(store):
    store.apply([skill(1, 1, "# deploy v1")], MODEL)
    result = store.apply([skill(2, 2, "# deploy v2")], MODEL)
    current = store.get("skill-deploy")
    assert (current.content, current.version, current.status) == ("# deploy v2", 2, "active")
    assert [r.id for r in result.index_upserts] == ["skill-deploy"] and result.done == []  # rides with its source
    assert store.skill_version("skill-deploy", 1)["version"] == 1
    assert [s["version"] for s in store.skills()] == [2]


def test_a_replayed_older_skill_version_changes_nothing(store):
    store.apply([skill(1, 1, "# v1"), skill(2, 2, "# v2")], MODEL)
    store.apply([skill(1, 1, "# v1")], MODEL)
    assert (store.get("skill-deploy").content, store.get("skill-deploy").version) == ("# v2", 2)


def episode(seq: int, episode_id: str, **attrs) -> dict:
    return row(seq, episode_id, op="episode", attrs=orjson.dumps(attrs).decode())


def test_an_episode_opens_collects_its_traces_and_closes_once(store):
    store.apply([episode(1, "ep-1", action="open", task="deploy the api", at=100),
                 row(2, "t1", "ran the tests", episode="ep-1")], MODEL)
    store.apply([episode(3, "ep-1", action="close", outcome="success", at=200, task_vector=[0.5] * 4)], MODEL)
    store.apply([episode(4, "ep-1", action="close", outcome="failure", at=300)], MODEL)  # already closed
    assert store.episode("ep-1") == {"id": "ep-1", "task": "deploy the api", "agent": "a", "outcome": "success",
                                     "opened_at": 100, "closed_at": 200}
    assert [t.id for t in store.episode_traces("ep-1")] == ["t1"]
    assert store.links_from(["t1"], "part_of_episode") == [("t1", "ep-1")]
    assert np.allclose(store.episode_rows(closed=True, limit=5)[0]["task_vector"], [0.5] * 4)


def test_closing_an_unknown_episode_fails_not_found(store):
    result = store.apply([episode(1, "ep-x", action="close", outcome="success", at=1)], MODEL)
    assert result.failed == [(1, "not_found", "episode ep-x does not exist")]


def test_a_link_needs_its_source_memory_and_shows_in_the_graph(store):
    store.apply([row(1, "a"), row(2, "b")], MODEL)
    result = store.apply([
        row(3, "a", op="link", attrs=orjson.dumps({"type": "related", "dst": "b", "at": 5}).decode()),
        row(4, "ghost", op="link", attrs=orjson.dumps({"type": "related", "dst": "b", "at": 5}).decode()),
    ], MODEL)
    assert result.done == [3] and result.failed == [(4, "not_found", "memory ghost does not exist")]
    assert store.graph("b", depth=1, types=None) == {
        "nodes": ["a", "b"], "edges": [{"src": "a", "type": "related", "dst": "b", "created_at": 5}]}


def test_a_cube_says_which_of_a_querys_names_speak_in_it_by_index_seeks(store, tmp_path):
    store.apply([
        row(1, "m1", metadata=orjson.dumps({"speaker": " Melanie "}).decode()),
        row(2, "m2", metadata=orjson.dumps({"speaker": "", "role": "User"}).decode()),
        row(3, "f1", tier="world", metadata=orjson.dumps({"speaker": "Caroline"}).decode()),
    ], MODEL)
    reader = CubeReader(tmp_path / "agent-a.db")
    assert reader.speakers_among(["melanie", "user", "caroline", "camping"]) == {"melanie", "user"}
    assert reader.speakers_among([]) == set()
    plan = " ".join(str(r) for r in reader._conn.execute(f"EXPLAIN QUERY PLAN {SPEAKERS_AMONG}", ('["x"]',)))
    assert "memories_by_speaker" in plan and "memories_by_tier" not in plan, plan  # seeks, not a walk of the traces
    reader.close()


def test_a_cube_from_before_the_speaker_index_gains_it_even_over_a_row_whose_metadata_is_damaged(tmp_path):
    path = tmp_path / "agent-a.db"
    writer = CubeWriter(path, WritePolicy())
    writer.apply([row(1, "m1", metadata=orjson.dumps({"speaker": "Melanie"}).decode()), row(2, "m2")], MODEL)
    writer.close()
    old = connect(path)
    with old:
        old.execute("DROP INDEX memories_by_speaker")
        old.execute("DELETE FROM schema_migrations WHERE version = ?", (len(MIGRATIONS),))
        old.execute("""UPDATE memories SET metadata = '{"unterminated' WHERE id = 'm2'""")
    old.close()
    assert CubeReader(path).speakers_among(["melanie"]) == set()  # no index yet: never a scan
    CubeWriter(path, WritePolicy()).close()  # its writer migrates it at open
    reader = CubeReader(path)
    assert schema_version(reader._conn) == len(MIGRATIONS)
    assert reader.speakers_among(["melanie"]) == {"melanie"}
    reader.close()
