"""pipeline/interchange/plan.py: what an import does with each object, against what the cube holds."""

from __future__ import annotations

from pipeline.interchange.export_objects import memory_object
from pipeline.interchange.model import iso
from pipeline.interchange.plan import Mode, OnConflict, Planner, Stored, remap
from pipeline.records import MemoryRecord

NOW = 9_000


def stored_note(version: int = 2, content: str = "tea") -> MemoryRecord:
    return MemoryRecord(id="m1", cube="agent-a", agent="a", tier="trace", kind="note", content=content, tags=["t"],
                        metadata={"k": 1}, created_at=10, updated_at=20, version=version)


def planner(mode: Mode = Mode.RESTORE, on_conflict: OnConflict = OnConflict.SKIP) -> Planner:
    return Planner(mode, on_conflict, "agent-b", "b", NOW, reuse_vectors=lambda v: v["model"] == "mini")


def nothing_stored() -> Stored:
    return Stored({}, {}, set())


def belonging() -> list[dict]:
    return [{"object": "vector", "memory_id": "m1", "model": "mini", "dimensions": 2, "vector": [1.0, 0.0]},
            {"object": "version", "memory_id": "m1", "version": 1, "kind": "note", "content": "coffee", "tags": [],
             "metadata": {}, "updated_at": iso(15)},
            {"object": "feedback", "memory_id": "m1", "signal": "useful", "agent": "a", "at": iso(16)}]


def test_a_new_memory_is_restored_with_its_state_history_feedback_and_vector():
    p = planner()
    ops, vectors = p.plan([memory_object(stored_note()), *belonging()], nothing_stored())
    assert [(o.op, o.fields["object"]) for o in ops] == [("restore", "memory"), ("restore", "version"),
                                                          ("restore", "feedback")]
    memory = ops[0].fields
    assert (memory["cube"], memory["agent"], memory["created_at"], memory["updated_at"]) == ("agent-b", "a", 10, 20)
    assert memory["restore"]["version"] == 2 and "replace" not in memory["restore"]
    assert vectors == {"m1": [1.0, 0.0]}
    assert p.tally.summary() == {"added": 3, "updated": 0, "skipped": 0, "errors": 0}


def test_the_same_memory_again_is_skipped_with_what_belongs_to_it():
    p = planner()
    ops, vectors = p.plan([memory_object(stored_note()), *belonging()], Stored({"m1": stored_note()}, {}, set()))
    assert ops == [] and vectors == {}
    assert p.tally.summary() == {"added": 0, "updated": 0, "skipped": 3, "errors": 0}


def test_a_change_made_on_the_stored_version_is_an_edit_applied_as_the_next_version():
    edited = {**memory_object(stored_note()), "content": "green tea"}
    p = planner()
    (op,), _ = p.plan([edited], Stored({"m1": stored_note()}, {}, set()))
    assert op.fields["content"] == "green tea" and op.fields["updated_at"] == NOW
    assert op.fields["restore"]["replace"] is True and op.fields["restore"]["base_version"] == 2
    assert p.tally.summary()["updated"] == 1


def test_a_change_at_another_version_is_a_conflict_skip_keeps_the_stored_overwrite_replaces():
    theirs = {**memory_object(stored_note(version=1)), "content": "black tea"}
    held = Stored({"m1": stored_note(version=3)}, {}, set())
    skip = planner()
    assert skip.plan([theirs], held)[0] == [] and skip.tally.summary()["skipped"] == 1
    overwrite = planner(on_conflict=OnConflict.OVERWRITE)
    (op,), _ = overwrite.plan([theirs], held)
    assert op.fields["restore"]["base_version"] == 3 and overwrite.tally.summary()["updated"] == 1


def test_a_vector_from_another_model_is_not_reused():
    other = {**belonging()[0], "model": "another"}
    _, vectors = planner().plan([memory_object(stored_note()), other], nothing_stored())
    assert vectors == {}


def test_live_traces_are_added_as_the_importing_agent_and_episodes_close_after_their_traces():
    episode = {"object": "episode", "id": "ep-1", "task": "t", "opened_at": iso(1), "closed_at": iso(50)}
    trace = {"object": "memory", "id": "c-1", "tier": "trace", "kind": "message", "content": "hi", "agent": "x",
             "episode": "ep-1", "temporal": {"created_at": iso(5)}, "provenance": {"platform": "chatgpt"}}
    p = planner(Mode.LIVE)
    ops, _ = p.plan([episode, trace], nothing_stored())
    assert [(o.op, o.target) for o in ops] == [("episode", "ep-1"), ("add", "c-1")]
    assert ops[1].fields["agent"] == "b" and ops[1].fields["created_at"] == 5
    assert [(o.op, o.fields["action"]) for o in p.closes] == [("episode", "close")]


def test_new_ids_rename_every_id_and_every_reference_consistently():
    summary = {"object": "memory", "id": "summary-ep-1", "tier": "trace", "kind": "summary", "content": "s",
               "episode": "ep-1", "source_ids": ["m1"], "metadata": {"episode_id": "ep-1"},
               "temporal": {"created_at": iso(1)}}
    out = remap(summary, "SALT")
    assert (out["id"], out["episode"], out["source_ids"], out["metadata"]["episode_id"]) == (
        "summary-ep-1.SALT", "ep-1.SALT", ["m1.SALT"], "ep-1.SALT")
    assert remap({"object": "episode", "id": "ep-1", "opened_at": iso(1)}, "SALT")["id"] == "ep-1.SALT"
    link = remap({"object": "link", "from": "m1", "to": "ep-1", "type": "part_of_episode", "created_at": iso(1)}, "SALT")
    assert (link["from"], link["to"]) == ("m1.SALT", "ep-1.SALT")
    assert summary["id"] == "summary-ep-1"  # the input is not changed
