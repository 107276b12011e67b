"""Privacy-grade deletion end to end (issue 17): a secret written, then deleted, is found in no byte of
any file under the data dir once the purge has run, nor is the world fact read from it; the other
memories stay searchable, and the audit log records the deletion without the content."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from api.server_process import start_server
from storage.lexical_index import LexicalReader

AGENT = "purge-alice"


@pytest.fixture(scope="module")
def purging_server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("purge") / "data", purge_after_s="1")
    try:
        yield proc
    finally:
        proc.stop()


def files_holding(root: Path, needles: list[str]) -> dict[str, list[str]]:
    """For each needle, every file under root whose bytes contain it (UTF-8), every file read whole."""
    found: dict[str, list[str]] = {n: [] for n in needles}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle in needles:
            if needle.encode() in data:
                found[needle].append(str(path.relative_to(root)))
    return {n: sorted(paths) for n, paths in found.items() if paths}


def purged(client, memory_id: str, timeout: float = 20.0) -> dict:
    """The audit event of the purge that covered the memory (the purge's own word that it is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = client.get("/v1/audit", params={"cube": f"agent-{AGENT}"}).json()["events"]
        for event in events:
            if event["action"] == "memory.purge" and memory_id in event["details"]["memories"]:
                return event
        time.sleep(0.2)
    raise AssertionError(f"no purge of {memory_id} within {timeout} s")


def doc_freq(data_dir: Path, field: str, term: str) -> int:
    """Documents (deleted ones included, until their segment is rewritten) holding the term in the BM25 index."""
    total = 0
    for lexical in sorted((data_dir / "shards").glob("*/lexical")):
        total += LexicalReader(lexical)._index.searcher().doc_freq(field, term)
    return total


def test_a_deleted_secret_is_in_no_byte_of_any_file_after_the_purge(purging_server):
    marker = uuid.uuid4().hex[:10]
    secret, tag, note = f"7vault{marker}code9", f"8tag{marker}x", f"6meta{marker}y"
    subject, place = "Zorblax", "Quuxtown"  # a fresh data dir holds neither; names with digits parse as no name
    data_dir = purging_server.data_dir
    with purging_server.client(AGENT) as alice:
        kept = alice.post("/v1/memories?wait=true", json={"content": "The staging database lives on host ares"})
        assert kept.status_code == 201
        r = alice.post("/v1/memories?wait=true", json={
            "content": f"{subject} lives in {place}. The vault code is {secret}.",
            "tags": [tag], "metadata": {"note": note},
        })
        assert r.status_code == 201
        memory_id = r.json()["id"]
        facts = alice.get("/v1/memories", params={"tier": "world", "limit": 100}).json()["items"]
        derived = [f for f in facts if memory_id in f["source_ids"]]
        assert [f["metadata"]["subject"] for f in derived] == [subject]  # the world model read a fact from it
        needles = [secret, tag, note, subject, place, subject.casefold(), place.casefold()]
        assert set(files_holding(data_dir, needles)) >= {secret, tag, note, subject, place}
        assert doc_freq(data_dir, "content", secret.casefold()) == 1

        assert alice.delete(f"/v1/memories/{memory_id}").status_code == 204
        assert alice.get(f"/v1/memories/{memory_id}").status_code == 404
        assert alice.get(f"/v1/memories/{derived[0]['id']}").status_code == 404  # the fact went with its source
        event = purged(alice, memory_id)

        assert files_holding(data_dir, needles) == {}
        assert doc_freq(data_dir, "content", secret.casefold()) == 0 and doc_freq(data_dir, "tags", tag) == 0
        assert sorted(event["details"]["memories"]) == sorted([memory_id, derived[0]["id"]])
        events = alice.get("/v1/audit", params={"cube": f"agent-{AGENT}"}).json()["events"]
        deletion = [e for e in events if e["action"] == "memory.delete"]
        assert [(e["memory_id"], e["actor"]) for e in deletion] == [(memory_id, AGENT)]
        assert not any(n in str(events) for n in needles)  # ids and actions, never the content

        hits = alice.post("/v1/search", json={"query": "where does the staging database live"}).json()["results"]
        assert hits[0]["id"] == kept.json()["id"]  # the purge rewrote the indexes without losing the rest
        again = alice.post("/v1/memories?wait=true", json={"content": "Deploy freeze starts Friday"})
        assert again.status_code == 201  # and the pipeline writes on after it
        hits = alice.post("/v1/search", json={"query": "when does the deploy freeze start"}).json()["results"]
        assert hits[0]["id"] == again.json()["id"]
