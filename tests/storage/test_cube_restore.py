"""storage/cube/restore.py: a bundle's objects are stored with the state they were exported with,
idempotently, and a `replace` becomes the memory's next version only on the version it was planned on.

Rows are made the way an import makes them: drafts from pipeline/interchange/import_drafts.py,
through the parse stage, then handed to a real cube writer on a fresh file.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipeline.interchange import import_drafts as drafts
from pipeline.interchange.import_drafts import PlannedOp
from pipeline.interchange.model import iso
from pipeline.parse import encode_draft, parse_batch
from pipeline.records import DEDUPE_FIELDS, INTAKE_SCHEMA
from pipeline.write_decisions import WritePolicy
from storage.cube.writer import CubeWriter

MODEL = "all-MiniLM-L6-v2"
FACT = {"subject": "Zoë", "relation": None, "predicate": "lives_in", "object": "Zürich", "polarity": True,
        "confidence": 0.9, "valid_from": 1000, "valid_to": 2000, "source_ids": ["m1"], "single_valued": True,
        "rule": "explicit", "evidence": "I live in Zürich."}


def rows(ops: list[PlannedOp], first_seq: int = -1) -> list[dict]:
    """The ops as the write stage gets them: parsed, skipped by dedupe, with a vector where embedded."""
    entries = [{"seq": first_seq - i, "job_id": "import", "op": op.op, "cube": "agent-a", "memory_id": op.target,
                "payload": encode_draft(op.fields)} for i, op in enumerate(ops)]
    parsed = parse_batch(pa.RecordBatch.from_pylist(entries, schema=INTAKE_SCHEMA),
                         lambda texts: [len(t.split()) for t in texts]).to_pylist()
    for row in parsed:
        assert row["error"] is None, row["error"]
        row.update({name: None for name, _ in DEDUPE_FIELDS})
        row["vector"] = np.ones(4, dtype=np.float32) / 2 if row["index_text"] is not None else None
    return parsed


@pytest.fixture
def store(tmp_path):
    writer = CubeWriter(tmp_path / "agent-a.db", WritePolicy())
    yield writer
    writer.close()


def fact_object(**extra) -> dict:
    return {"object": "memory", "id": "fact-1", "agent": "a", "tier": "world", "kind": "fact",
            "content": "Zoë lives in Zürich.", "status": "superseded", "version": 3, "tags": ["où"],
            "metadata": FACT, "source_ids": ["m1"], "feedback": -2,
            "temporal": {"created_at": iso(1000), "updated_at": iso(2500), "valid_from": iso(1000),
                         "valid_until": iso(2000)}, **extra}


def test_a_restored_memory_keeps_its_whole_state_and_its_fact_row(store):
    result = store.apply(rows([drafts.restore_memory(fact_object(), "agent-a", "importer")]), MODEL)
    assert result.failed == [] and len(result.done) == 1
    got = store.get("fact-1")
    assert (got.status, got.version, got.feedback, got.valid_from, got.valid_to, got.updated_at, got.agent) == (
        "superseded", 3, -2, 1000, 2000, 2500, "a")
    assert got.metadata == FACT and got.tags == ["où"]
    assert store.stored_fact("fact-1").fact.object == "Zürich"  # the world model's row is there
    assert result.index_upserts == []  # not active: not searchable
    assert store.links_of("fact-1") == []  # links come as their own objects, none are made up


def test_restoring_twice_changes_nothing(store):
    ops = [drafts.restore_memory(fact_object(), "agent-a", "importer"),
           drafts.restore_version({"memory_id": "fact-1", "version": 1, "kind": "fact", "content": "old",
                                   "tags": [], "metadata": {}, "updated_at": iso(1500)}, "agent-a", "importer"),
           drafts.restore_feedback({"memory_id": "fact-1", "signal": "outdated", "agent": "b", "at": iso(1600)},
                                   "agent-a", "importer"),
           drafts.restore_link({"from": "fact-1", "to": "m1", "type": "derived_from", "created_at": iso(1000)},
                               "agent-a", "importer"),
           drafts.restore_episode({"id": "ep-1", "task": "t", "outcome": "success", "opened_at": iso(1),
                                   "closed_at": iso(9)}, "agent-a", "importer", [0.5, 0.5])]
    store.apply(rows(ops), MODEL)
    before = (store.get("fact-1"), store.versions("fact-1"), store.feedback_of("fact-1"), store.links_of("fact-1"),
              store.episode("ep-1"))
    store.apply(rows(ops, first_seq=-100), MODEL)  # another run of the same import: other seqs
    after = (store.get("fact-1"), store.versions("fact-1"), store.feedback_of("fact-1"), store.links_of("fact-1"),
             store.episode("ep-1"))
    assert after == before
    assert before[2] == [{"signal": "outdated", "note": None, "agent": "b", "at": 1600}]
    assert before[4] == {"id": "ep-1", "task": "t", "agent": "importer", "outcome": "success", "opened_at": 1,
                         "closed_at": 9}


def test_a_replace_becomes_the_next_version_once_and_only_on_its_base(store):
    store.apply(rows([drafts.restore_memory(fact_object(status="active"), "agent-a", "importer")]), MODEL)
    edited = fact_object(status="active", content="Zoë lives in Zürich, by the lake.")
    replace = drafts.restore_memory(edited, "agent-a", "importer", replace_version=3, now=7000)
    store.apply(rows([replace]), MODEL)
    got = store.get("fact-1")
    assert (got.content, got.version, got.updated_at) == ("Zoë lives in Zürich, by the lake.", 4, 7000)
    assert store.versions("fact-1")[-1]["content"] == "Zoë lives in Zürich."
    store.apply(rows([replace], first_seq=-50), MODEL)  # the same edit again: the memory is at 4 now
    assert store.get("fact-1").version == 4 and len(store.versions("fact-1")) == 1


def test_an_object_type_the_writer_does_not_restore_fails_that_row(store):
    bogus = PlannedOp("restore", "x", {"id": "x", "cube": "agent-a", "agent": "a", "object": "planet", "restore": {}})
    result = store.apply(rows([bogus]), MODEL)
    assert [(code, message) for _, code, message in result.failed] == [
        ("invalid", "cannot restore an object of type 'planet'")]
    assert result.done == []
