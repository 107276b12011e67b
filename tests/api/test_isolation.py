"""The isolation matrix: agents x cubes x operations, before and after grants; every cell exact.

alice owns her private cube A and a knowledge-base cube K. bob, carol and dave own nothing of
hers; ops holds an admin key (it manages cubes, but reads nothing without a grant).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import pytest

from tests.api.conftest import AuthServer

OPS = ("write", "get", "list", "search", "update", "delete", "share", "export")
OK, NOPE, DENIED = "ok", 404, 403

# (agent, cube) -> outcome of every operation. Cells not listed are NOPE for every operation.
OWNER = {op: OK for op in OPS}
READER = {**{op: OK for op in OPS}, "write": DENIED, "update": DENIED, "delete": DENIED}

NO_GRANTS = {("alice", "A"): OWNER, ("alice", "K"): OWNER}
WITH_GRANTS = {
    ("alice", "A"): OWNER,
    ("alice", "K"): OWNER,
    ("bob", "A"): READER,   # alice granted bob read on her private cube
    ("bob", "K"): READER,   # ... and on the knowledge base
    ("carol", "K"): OWNER,  # carol can write K (delete and update included)
}
AFTER_REVOKE = {**WITH_GRANTS, ("bob", "K"): {op: NOPE for op in OPS}}


@pytest.fixture(scope="module")
def world(auth_server: AuthServer) -> Iterator[dict[str, str]]:
    with auth_server.as_("alice") as alice:
        kb = alice.post("/v1/cubes", json={"name": "alice's knowledge base"}).json()["id"]
    yield {"A": "agent-alice", "K": kb}
    # The server is shared by the whole session: later modules must meet alice's cube private again.
    with auth_server.as_("alice") as alice:
        for member in alice.get("/v1/cubes/agent-alice/members").json():
            if member["agent"] != "alice":
                alice.delete(f"/v1/cubes/agent-alice/members/{member['agent']}")
        assert [m["agent"] for m in alice.get("/v1/cubes/agent-alice/members").json()] == ["alice"]


def seed(auth: AuthServer, cube: str, text: str) -> str:
    """A fresh memory in the cube, written by its owner."""
    with auth.as_("alice") as alice:
        r = alice.post("/v1/memories?wait=true", json={"content": text, "cube": cube})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def attempt(auth: AuthServer, agent: str, cube: str, op: str, memory_id: str) -> str | int:
    with auth.as_(agent) as c:
        if op == "write":
            r = c.post("/v1/memories", json={"content": f"{agent} writes here", "cube": cube})
        elif op == "get":
            r = c.get(f"/v1/memories/{memory_id}", params={"cube": cube})
        elif op == "list":
            r = c.get("/v1/memories", params={"cube": cube})
            if r.status_code == 200:
                assert memory_id in [m["id"] for m in r.json()["items"]]
        elif op == "search":
            # Probes of earlier phases are near duplicates of this one; folding them is not what this checks.
            body = {"query": "matrix probe memory", "cubes": [cube], "top_k": 50, "collapse": False}
            r = c.post("/v1/search", json=body)
            if r.status_code == 200:
                assert memory_id in [h["id"] for h in r.json()["results"]]
                assert {h["cube"] for h in r.json()["results"]} == {cube}
        elif op == "update":
            r = c.patch(f"/v1/memories/{memory_id}", params={"cube": cube}, json={"tags": [agent]})
        elif op == "delete":
            r = c.delete(f"/v1/memories/{memory_id}", params={"cube": cube})
        elif op == "share":
            r = c.post(f"/v1/memories/{memory_id}/share", json={"to": f"agent-{agent}", "from_cube": cube})
        else:
            r = c.get(f"/v1/cubes/{cube}/export")
            if r.status_code == 200:
                assert memory_id.encode() in r.content
    if r.status_code < 300:
        return OK
    assert r.json()["error"]["code"] == {404: "not_found", 403: "forbidden"}[r.status_code], r.text
    return r.status_code


def run_matrix(auth: AuthServer, world: dict[str, str], expected: dict) -> None:
    phase = uuid.uuid4().hex[:8]  # fresh text: a repeat would be stored as an exact duplicate
    probes = {name: seed(auth, cube, f"matrix probe memory in {name} ({phase})") for name, cube in world.items()}
    outcomes = {}
    for agent, name, op in itertools.product(("alice", "bob", "carol", "dave", "ops"), world, OPS):
        doomed = f"matrix probe memory to delete in {name} by {agent} ({phase})"
        memory_id = seed(auth, world[name], doomed) if op == "delete" else probes[name]
        outcomes[(agent, name, op)] = attempt(auth, agent, world[name], op, memory_id)
    wanted = {
        (agent, name, op): expected.get((agent, name), {}).get(op, NOPE)
        for agent, name, op in itertools.product(("alice", "bob", "carol", "dave", "ops"), world, OPS)
    }
    wrong = {cell: (got, wanted[cell]) for cell, got in outcomes.items() if got != wanted[cell]}
    assert wrong == {}, f"cells that differ (got, wanted): {wrong}"


def test_isolation_matrix_without_grants_then_with_grants_then_after_revoke(auth_server, world):
    run_matrix(auth_server, world, NO_GRANTS)

    with auth_server.as_("alice") as alice:
        assert alice.post(f"/v1/cubes/{world['A']}/members", json={"agent": "bob", "role": "read"}).status_code == 201
        assert alice.post(f"/v1/cubes/{world['K']}/members", json={"agent": "bob", "role": "read"}).status_code == 201
        assert alice.post(f"/v1/cubes/{world['K']}/members", json={"agent": "carol", "role": "write"}).status_code == 201
    run_matrix(auth_server, world, WITH_GRANTS)

    with auth_server.as_("alice") as alice:
        assert alice.delete(f"/v1/cubes/{world['K']}/members/bob").status_code == 204
    run_matrix(auth_server, world, AFTER_REVOKE)


def test_a_reader_cannot_grant_and_nobody_outside_can_see_members(auth_server, world):
    with auth_server.as_("carol") as carol, auth_server.as_("dave") as dave:
        r = carol.post(f"/v1/cubes/{world['K']}/members", json={"agent": "dave", "role": "admin"})
        assert (r.status_code, r.json()["error"]["code"]) in ((403, "forbidden"), (404, "not_found"))
        assert dave.get(f"/v1/cubes/{world['K']}/members").status_code == 404
        assert dave.get(f"/v1/cubes/{world['K']}").status_code == 404
        assert world["K"] not in [c["id"] for c in dave.get("/v1/cubes").json()]


def test_default_search_reads_own_cube_plus_mounts_only(auth_server, world):
    kb_note = seed(auth_server, world["K"], "the mounted cube mentions a heliotrope garden")
    with auth_server.as_("alice") as alice:
        alice.post(f"/v1/cubes/{world['K']}/members", json={"agent": "dave", "role": "read"})
    with auth_server.as_("dave") as dave:
        query = {"query": "heliotrope garden", "top_k": 20}
        assert kb_note not in [h["id"] for h in dave.post("/v1/search", json=query).json()["results"]]
        assert dave.post("/v1/mounts", json={"cube": world["K"]}).status_code == 201
        hits = dave.post("/v1/search", json=query).json()["results"]
        assert [h["cube"] for h in hits if h["id"] == kb_note] == [world["K"]]
        assert dave.delete(f"/v1/mounts/{world['K']}").status_code == 204
        assert kb_note not in [h["id"] for h in dave.post("/v1/search", json=query).json()["results"]]
    with auth_server.as_("alice") as alice:
        alice.delete(f"/v1/cubes/{world['K']}/members/dave")


def test_an_admin_key_manages_but_reads_only_through_a_grant_and_it_is_audited(auth_server, world):
    secret = seed(auth_server, world["A"], "alice's diary entry about the lighthouse")
    with auth_server.as_("ops") as ops:
        assert {world["A"], world["K"]} <= {c["id"] for c in ops.get("/v1/cubes").json()}
        assert ops.get(f"/v1/memories/{secret}", params={"cube": world["A"]}).status_code == 404
        assert ops.post(f"/v1/cubes/{world['A']}/members", json={"agent": "ops", "role": "read"}).status_code == 201
        assert ops.get(f"/v1/memories/{secret}", params={"cube": world["A"]}).status_code == 200
        assert ops.delete(f"/v1/cubes/{world['A']}/members/ops").status_code == 204
        events = ops.get("/v1/audit", params={"cube": world["A"]}).json()["events"]
    assert [(e["action"], e["actor"], e["target"]) for e in events[:2]] == [
        ("member.revoke", "ops", "ops"), ("member.grant", "ops", "ops")]


def test_deleting_a_cube_removes_its_memories_everywhere(auth_server):
    with auth_server.as_("alice") as alice:
        cube = alice.post("/v1/cubes", json={"name": "short-lived"}).json()["id"]
        memory = alice.post("/v1/memories?wait=true", json={"content": "ephemeral walrus fact", "cube": cube}).json()
        alice.post(f"/v1/cubes/{cube}/members", json={"agent": "bob", "role": "read"})
    with auth_server.as_("bob") as bob:
        assert bob.delete(f"/v1/cubes/{cube}").status_code == 403  # a reader cannot delete
    with auth_server.as_("alice") as alice:
        assert alice.delete(f"/v1/cubes/{cube}").status_code == 204
        assert alice.get(f"/v1/memories/{memory['id']}", params={"cube": cube}).status_code == 404
        hits = alice.post("/v1/search", json={"query": "ephemeral walrus"}).json()["results"]
        assert memory["id"] not in [h["id"] for h in hits]
        assert alice.delete("/v1/cubes/agent-alice").status_code == 409
    assert not (auth_server.server.data_dir / "cubes" / f"{cube}.db").exists()
