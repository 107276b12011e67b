"""Privacy-grade deletion at the storage layer, on real files: a deleted memory's bytes leave the cube
file and the intake log once scrubbed, and the derived rows it was the last source of go with it
(issue 17)."""

from pathlib import Path

import orjson

from pipeline.world_facts.fact import Predicate, WorldFact
from pipeline.write_decisions import WritePolicy
from storage.cube.writer import CubeWriter
from storage.intake_log import IntakeEntry, IntakeLog
from tests.builders import stored_row
from tests.storage.test_cube_writer import MODEL, fact, vec

SECRET = "7qzv9secretword41"
TAG = "8tagsecret52"


def files_holding(root: Path, needle: str) -> list[str]:
    """Every file under root whose bytes contain the needle (UTF-8), read whole."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and needle.encode() in p.read_bytes())


def secret_row(seq: int, memory_id: str) -> dict:
    return stored_row(seq, memory_id, f"the code is {SECRET}", tags=[TAG], vector=vec(seq),
                      metadata=orjson.dumps({"note": SECRET}).decode())


def filler(seq: int) -> dict:
    return stored_row(seq, f"other-{seq}", f"ordinary note number {seq} " * 20, vector=vec(seq))


def test_a_deleted_memory_leaves_no_byte_in_the_cube_file_once_scrubbed(tmp_path):
    store = CubeWriter(tmp_path / "agent-a.db", WritePolicy())
    store.apply([filler(i) for i in range(1, 40)], MODEL)
    store.apply([secret_row(40, "secret"), filler(41)], MODEL)
    store.apply([stored_row(42, "secret", f"the code is still {SECRET}", op="update", tags=[TAG])], MODEL)
    assert store.versions("secret")  # an old version holds the secret too
    result = store.apply([stored_row(43, "secret", op="delete")], MODEL)
    assert result.deleted == ["secret"]
    # Deleted but not yet scrubbed: the WAL still holds the pages as they were.
    assert files_holding(tmp_path, SECRET)
    assert store.scrub() is True
    assert files_holding(tmp_path, SECRET) == [] and files_holding(tmp_path, TAG) == []
    assert (tmp_path / "agent-a.db-wal").stat().st_size == 0
    assert store.count() == 40 and store.get("other-41") is not None  # the rest is untouched
    store.close()


def zorblax(source: str) -> WorldFact:
    return WorldFact("Zorblax", Predicate.LIVES_IN, "Quuxtown", True, 0.8, 1000, (source,))


def test_a_fact_goes_with_the_last_of_its_sources(tmp_path):
    store = CubeWriter(tmp_path / "agent-a.db", WritePolicy())
    store.apply([stored_row(1, "t1", "Zorblax lives in Quuxtown"), fact(1, "f1", zorblax("t1")),
                 stored_row(2, "t2", "Zorblax lives in Quuxtown, as I said", content_hash="h2"),
                 fact(2, "f2", zorblax("t2"))], MODEL)
    merged = store.get("f1")
    assert merged is not None and store.get("f2") is None and sorted(merged.source_ids) == ["t1", "t2"]
    first = store.apply([stored_row(3, "t1", op="delete")], MODEL)
    assert first.deleted == ["t1"]
    kept = store.get("f1")  # still said by t2
    assert kept.source_ids == ["t2"] and kept.metadata["source_ids"] == ["t2"]
    second = store.apply([stored_row(4, "t2", op="delete")], MODEL)
    assert second.deleted == ["t2", "f1"] and "f1" in second.index_deletes
    assert store.get("f1") is None and store.active_facts("zorblax") == []
    assert store.scrub()
    assert files_holding(tmp_path, "Quuxtown") == [] and files_holding(tmp_path, "quuxtown") == []
    store.close()


def test_a_clients_memory_naming_a_deleted_source_keeps_its_text(tmp_path):
    store = CubeWriter(tmp_path / "agent-a.db", WritePolicy())
    store.apply([stored_row(1, "src", "the source"), stored_row(2, "mine", "my own note", source_ids=["src"])],
                MODEL)
    assert store.apply([stored_row(3, "src", op="delete")], MODEL).deleted == ["src"]
    assert store.get("mine").content == "my own note"
    store.close()


def test_forgotten_intake_entries_leave_no_byte_in_the_log(tmp_path):
    log = IntakeLog(tmp_path / "intake.db")
    payload = orjson.dumps({"content": f"the code is {SECRET}", "tags": [TAG]})
    seqs = log.append([("job", "a", "add", 3)], [
        IntakeEntry("job", "add", "agent-a", "secret", payload),
        IntakeEntry("job", "add", "agent-a", "kept", b'{"content": "a note to keep"}'),
        IntakeEntry("job", "delete", "agent-a", "secret", b'{"id": "secret"}'),
    ])
    log.complete([(s, "job") for s in seqs], [])
    assert log.finished_deletes() == [("agent-a", "secret")]  # what a restart purges again
    assert files_holding(tmp_path, SECRET)
    assert log.forget("agent-a", ["secret"]) == 2
    assert log.checkpoint()
    assert files_holding(tmp_path, SECRET) == [] and files_holding(tmp_path, TAG) == []
    assert log.finished_deletes() == [] and log.latest_add("agent-a", "kept") is not None
    job = log.job("job")
    assert (job.total, job.done, job.status) == (3, 3, "done")  # the job keeps its counters
    log.close()


def test_pending_entries_are_never_forgotten(tmp_path):
    log = IntakeLog(tmp_path / "intake.db")
    log.append([("job", "a", "add", 1)], [IntakeEntry("job", "add", "agent-a", "m1", b"{}")])
    assert log.forget("agent-a", ["m1"]) == 0 and log.forget_cube("agent-a") == 0
    assert log.pending(0, 10).num_rows == 1
    log.close()
