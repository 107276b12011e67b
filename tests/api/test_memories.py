"""The write and read path through HTTP on a real server (local Ray, real model, temp data dir)."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def alice(server, request):
    # A fresh agent per test keeps tests independent on the shared server.
    with server.client(f"t-{request.node.name[:40]}".replace("[", "_").replace("]", "")) as c:
        yield c


def wait_job(client, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_a_write_is_accepted_at_once_then_becomes_searchable(alice):
    r = alice.post("/v1/memories", json={"content": "Alice's cat is named Miso and loves tuna", "tags": ["pets"]})
    assert r.status_code == 202
    body = r.json()
    assert set(body) == {"id", "job_id", "status"} and body["status"] == "queued"
    job = wait_job(alice, body["job_id"])
    assert (job["status"], job["total"], job["done"], job["failed"]) == ("done", 1, 1, 0)
    hits = alice.post("/v1/search", json={"query": "what is the cat called", "top_k": 3}).json()["results"]
    assert hits[0]["id"] == body["id"]
    assert set(hits[0]) >= {"id", "content", "score", "scores", "kind", "tags", "created_at"}
    assert hits[0]["scores"]["vector"] > 0.3 and hits[0]["tags"] == ["pets"]


def test_wait_true_answers_201_with_the_stored_memory(alice):
    r = alice.post("/v1/memories?wait=true", json={"content": "Deploys run at 17:00 UTC", "kind": "note",
                                                    "metadata": {"source": "ops"}, "id": "ops-1"})
    assert r.status_code == 201
    memory = r.json()
    assert memory["id"] == "ops-1" and memory["status"] == "active" and memory["version"] == 1
    assert memory["metadata"] == {"source": "ops"} and memory["tokens"] > 0
    assert alice.get("/v1/memories/ops-1").json() == memory
    hits = alice.post("/v1/search", json={"query": "when do deploys run"}).json()["results"]
    assert hits[0]["id"] == "ops-1"


def test_repeating_a_client_id_is_a_no_op(alice):
    first = alice.post("/v1/memories?wait=true", json={"content": "original text", "id": "same-id"})
    again = alice.post("/v1/memories", json={"content": "something else entirely", "id": "same-id"})
    assert first.status_code == 201
    assert again.status_code == 200 and again.json() == {"id": "same-id", "job_id": None, "status": "exists"}
    assert alice.get("/v1/memories/same-id").json()["content"] == "original text"


def test_exact_duplicate_is_kept_readable_but_left_out_of_search(alice):
    a = alice.post("/v1/memories?wait=true", json={"content": "The wifi password is hunter2"}).json()
    b = alice.post("/v1/memories?wait=true", json={"content": "the wifi  password is hunter2"}).json()
    assert b["status"] == "duplicate" and b["duplicate_of"] == a["id"]
    hits = alice.post("/v1/search", json={"query": "wifi password"}).json()["results"]
    assert [h["id"] for h in hits] == [a["id"]]
    assert alice.get("/v1/memories?status=duplicate").json()["items"][0]["id"] == b["id"]


def test_near_duplicates_are_stored_and_collapsed_in_search(alice):
    a = alice.post("/v1/memories?wait=true", json={"content": "Bob is allergic to peanuts and shellfish"}).json()
    b = alice.post("/v1/memories?wait=true", json={"content": "Bob is allergic to peanuts and to shellfish"}).json()
    assert b["status"] == "active"
    traces = {"query": "bob allergies", "tiers": ["trace"]}  # the world fact read from them is a third memory
    collapsed = alice.post("/v1/search", json=traces).json()["results"]
    assert [(h["id"], h["near_duplicates"]) for h in collapsed] == [(a["id"], [b["id"]])]
    both = alice.post("/v1/search", json={**traces, "collapse": False}).json()["results"]
    assert {h["id"] for h in both} == {a["id"], b["id"]}


def test_patch_reembeds_new_content_and_keeps_versions(alice):
    m = alice.post("/v1/memories?wait=true", json={"content": "Meeting room is Everest", "id": "room"}).json()
    r = alice.patch("/v1/memories/room", json={"content": "Meeting room moved to Kilimanjaro"})
    assert r.status_code == 200
    patched = r.json()
    assert patched["version"] == m["version"] + 1 and patched["content"] == "Meeting room moved to Kilimanjaro"
    hits = alice.post("/v1/search", json={"query": "Kilimanjaro"}).json()["results"]
    assert hits and hits[0]["id"] == "room" and hits[0]["scores"]["bm25"] is not None
    assert alice.post("/v1/search", json={"query": "Everest"}).json()["results"][0]["scores"]["bm25"] is None
    stale = alice.patch("/v1/memories/room", json={"tags": ["x"], "version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    tags_only = alice.patch("/v1/memories/room", json={"tags": ["office"]}).json()
    assert tags_only["tags"] == ["office"] and tags_only["version"] == 3


def test_delete_removes_from_every_index(alice):
    m = alice.post("/v1/memories?wait=true", json={"content": "temporary secret zebra protocol"}).json()
    assert alice.post("/v1/search", json={"query": "zebra protocol"}).json()["results"][0]["id"] == m["id"]
    assert alice.delete(f"/v1/memories/{m['id']}").status_code == 204
    assert alice.get(f"/v1/memories/{m['id']}").status_code == 404
    hits = alice.post("/v1/search", json={"query": "zebra protocol"}).json()["results"]
    assert m["id"] not in [h["id"] for h in hits]
    assert alice.delete(f"/v1/memories/{m['id']}").status_code == 404


def test_list_filters_and_pages_with_a_cursor(alice):
    items = [{"content": f"note number {i}", "tags": ["even" if i % 2 == 0 else "odd"], "id": f"n{i}",
              "created_at": f"2026-01-0{i + 1}T00:00:00Z"} for i in range(5)]
    r = alice.post("/v1/memories/batch?wait=true", json={"items": items})
    assert r.status_code == 200
    assert {k: v for k, v in r.json().items() if k != "job_id"} == {
        "status": "done", "accepted": 5, "items": [{"id": f"n{i}", "status": "done"} for i in range(5)]}
    page1 = alice.get("/v1/memories?limit=2").json()
    page2 = alice.get(f"/v1/memories?limit=2&cursor={page1['next_cursor']}").json()
    page3 = alice.get(f"/v1/memories?limit=2&cursor={page2['next_cursor']}").json()
    assert [m["id"] for m in page1["items"] + page2["items"] + page3["items"]] == ["n4", "n3", "n2", "n1", "n0"]
    assert page3["next_cursor"] is None
    assert [m["id"] for m in alice.get("/v1/memories?tag=odd").json()["items"]] == ["n3", "n1"]
    assert page1["items"][0]["created_at"] == "2026-01-05T00:00:00.000Z"


def test_a_batch_of_a_thousand_is_one_job_with_progress(alice):
    items = [{"content": f"bulk fact {i}: sensor {i % 17} read {i * 3} units", "id": f"bulk-{i}"} for i in range(1000)]
    r = alice.post("/v1/memories/batch", json={"items": items})
    assert r.status_code == 202
    body = r.json()
    assert body["accepted"] == 1000 and [i["id"] for i in body["items"]] == [f"bulk-{i}" for i in range(1000)]
    job = wait_job(alice, body["job_id"], timeout=240)
    assert (job["status"], job["done"], job["total"]) == ("done", 1000, 1000)
    hits = alice.post("/v1/search", json={"query": "sensor 14 read 2949 units", "top_k": 5}).json()["results"]
    assert "bulk-983" in [h["id"] for h in hits]  # the only memory with "2949" in it
    assert alice.get("/v1/memories/bulk-0").json()["content"] == "bulk fact 0: sensor 0 read 0 units"


def test_reading_a_write_still_in_flight_shows_it_pending_or_stored(alice):
    r = alice.post("/v1/memories", json={"content": "in flight", "id": "inflight-1"})
    got = alice.get("/v1/memories/inflight-1").json()
    assert got["id"] == "inflight-1" and got["status"] in ("pending", "active")
    wait_job(alice, r.json()["job_id"])


def test_health_reports_the_backlog(server):
    with server.client() as c:
        health = c.get("/v1/health").json()
    assert health["status"] == "ok" and health["pending"] >= 0 and health["uptime_s"] > 0


def test_ranking_channels_can_be_chosen_per_request(alice):
    alice.post("/v1/memories?wait=true", json={"content": "The orange submarine surfaced near Oslo"})
    bm25_only = alice.post("/v1/search", json={"query": "orange submarine", "ranking": {"channels": ["bm25"]}})
    vector_only = alice.post("/v1/search", json={"query": "orange submarine", "ranking": {"channels": ["vector"]}})
    assert all(h["scores"]["vector"] is None for h in bm25_only.json()["results"])
    assert all(h["scores"]["bm25"] is None for h in vector_only.json()["results"])
    assert bm25_only.json()["results"][0]["content"] == vector_only.json()["results"][0]["content"]
