"""Personas over HTTP on the shared real server (issue 17): their statements feed the world model, a new
version replaces the facts of the old one, one persona is active per agent, and agents stay apart."""

from __future__ import annotations

import pytest

NOVA = {"name": "Nova", "role": "research assistant", "traits": ["patient"],
        "preferences": ["short answers"], "style": "formal"}


@pytest.fixture
def alice(server, request):
    agent = "".join(ch if ch.isalnum() else "-" for ch in request.node.name[:40])
    with server.client(f"p-{agent}") as c:
        yield c


def facts_from(client, memory_id: str) -> set[tuple[str, str, str]]:
    items = client.get("/v1/memories", params={"tier": "world", "status": "all", "limit": 1000}).json()["items"]
    return {(f["metadata"]["subject"], f["metadata"]["predicate"], f["metadata"]["object"])
            for f in items if memory_id in f["source_ids"] and f["status"] == "active"}


def test_a_persona_feeds_world_facts_like_a_message(alice):
    r = alice.put("/v1/personas/nova", json=NOVA)
    assert r.status_code == 200, r.text
    nova = r.json()
    assert {k: nova[k] for k in ("id", "name", "role", "traits", "preferences", "style", "active", "version",
                                  "status", "history")} == {
        "id": "nova", "name": "Nova", "role": "research assistant", "traits": ["patient"],
        "preferences": ["short answers"], "style": "formal", "active": True, "version": 1, "status": "done",
        "history": []}
    assert nova["statements"] == ["Nova works as a research assistant.", "Nova is patient.",
                                  "Nova prefers short answers.", "Nova prefers a formal style."]
    memory = alice.get(f"/v1/memories/{nova['memory_id']}").json()
    assert memory["kind"] == "persona" and memory["content"] == " ".join(nova["statements"])
    assert facts_from(alice, nova["memory_id"]) >= {("Nova", "works_as", "research assistant"),
                                                    ("Nova", "prefers", "short answers")}
    assert alice.get("/v1/personas/nova").json() == nova
    assert [p["id"] for p in alice.get("/v1/personas").json()["personas"]] == ["nova"]


def test_a_new_version_replaces_the_old_versions_facts(alice):
    first = alice.put("/v1/personas/nova", json=NOVA).json()
    second = alice.put("/v1/personas/nova", json={**NOVA, "role": "editor"}).json()
    assert (second["version"], second["role"]) == (2, "editor")
    assert [(h["version"], h["role"]) for h in second["history"]] == [(1, "research assistant")]
    assert ("Nova", "works_as", "editor") in facts_from(alice, second["memory_id"])
    assert alice.get(f"/v1/memories/{first['memory_id']}").status_code == 404
    assert facts_from(alice, first["memory_id"]) == set()  # the old version's facts went with it
    again = alice.put("/v1/personas/nova", json={**NOVA, "role": "editor"}).json()
    assert (again["version"], again["memory_id"]) == (2, second["memory_id"])  # the same record: no new version


def test_one_persona_is_active_per_agent(alice):
    alice.put("/v1/personas/nova", json=NOVA)
    sage = alice.put("/v1/personas/sage", json={"name": "Sage", "role": "tutor"}).json()
    assert sage["active"] is True
    listed = {p["id"]: (p["active"], p["version"]) for p in alice.get("/v1/personas").json()["personas"]}
    assert listed == {"nova": (False, 1), "sage": (True, 1)}  # deactivated, not re-versioned
    back = alice.put("/v1/personas/nova", json=NOVA).json()
    assert (back["active"], back["version"]) == (True, 1)
    listed = {p["id"]: p["active"] for p in alice.get("/v1/personas").json()["personas"]}
    assert listed == {"nova": True, "sage": False}
    quiet = alice.put("/v1/personas/quiet", json={"name": "Quiet", "active": False}).json()
    assert quiet["active"] is False and alice.get("/v1/personas/nova").json()["active"] is True


def test_agents_never_see_or_change_each_others_personas(server, alice):
    alice.put("/v1/personas/nova", json=NOVA)
    owner = alice.get("/v1/personas").json()["cube"]
    with server.client("p-bob-persona") as bob:
        assert bob.get("/v1/personas").json()["personas"] == []
        assert bob.get("/v1/personas/nova").status_code == 404
        for r in (bob.get("/v1/personas", params={"cube": owner}),
                  bob.put("/v1/personas/nova", params={"cube": owner}, json={**NOVA, "role": "spy"}),
                  bob.delete("/v1/personas/nova", params={"cube": owner})):
            assert r.status_code in (403, 404) and set(r.json()["error"]) == {"code", "message"}
        mine = bob.put("/v1/personas/nova", json={**NOVA, "name": "Bob's Nova"}).json()
        assert mine["cube"] != owner and mine["agent"] == "p-bob-persona"
    assert alice.get("/v1/personas/nova").json()["role"] == "research assistant"


def test_deleting_a_persona_takes_its_memory_and_facts(alice):
    nova = alice.put("/v1/personas/nova", json=NOVA).json()
    assert alice.delete("/v1/personas/nova").status_code == 204
    assert alice.get("/v1/personas/nova").status_code == 404
    assert alice.get(f"/v1/memories/{nova['memory_id']}").status_code == 404
    assert facts_from(alice, nova["memory_id"]) == set()


@pytest.mark.parametrize("path,body", [
    ("/v1/personas/nova", {"name": "   "}),
    ("/v1/personas/nova", {"name": "Nova", "traits": ["x"] * 33}),
    ("/v1/personas/nova", {"name": "Nova", "mood": "grumpy"}),
    ("/v1/personas/bad.id", {"name": "Nova"}),
])
def test_a_bad_persona_is_refused_and_nothing_is_stored(alice, path, body):
    r = alice.put(path, json=body)
    assert 400 <= r.status_code < 500 and set(r.json()["error"]) == {"code", "message"}
    assert alice.get("/v1/personas").json()["personas"] == []
