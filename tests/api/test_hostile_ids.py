"""Hostile cube and agent ids never create or open a file outside the data directory; each is a 4xx."""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest

from pipeline.ids import is_cube_id
from tests.api.conftest import AuthServer

HOSTILE = ["../x", "../../etc/passwd", "kb-../../x", "agent-..", "a/b", "agent-a\x00b", "x" * 300,
           "agent-é", "kb-" + "Z" * 26 + "/..", "/abs/path", "agent-alice/../agent-bob", "CON", "kb-"]


def tree(root) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


@pytest.fixture
def snapshot(auth_server: AuthServer):
    data = auth_server.server.data_dir
    before = tree(data.parent)
    yield
    created = tree(data.parent) - before
    outside = [p for p in created if not p.startswith(data.name + os.sep) and not p.startswith("server-")]
    assert outside == [], f"files created outside the data directory: {outside}"
    cube_files = {p.split(os.sep)[-1].split(".db")[0] for p in tree(data / "cubes")}
    assert all(is_cube_id(name) for name in cube_files), cube_files


@pytest.mark.parametrize("cube", HOSTILE)
def test_hostile_cube_ids_are_refused_everywhere(auth_server: AuthServer, snapshot, cube):
    quoted = quote(cube, safe="")
    with auth_server.as_("alice") as c:
        responses = [
            c.post("/v1/memories", json={"content": "x", "cube": cube}),
            c.post("/v1/memories/batch", json={"items": [{"content": "x"}], "cube": cube}),
            c.get("/v1/memories", params={"cube": cube}),
            c.get("/v1/memories/some-id", params={"cube": cube}),
            c.post("/v1/search", json={"query": "x", "cubes": [cube]}),
            c.get(f"/v1/cubes/{quoted}"),
            c.get(f"/v1/cubes/{quoted}/members"),
            c.post(f"/v1/cubes/{quoted}/members", json={"agent": "bob", "role": "read"}),
            c.get(f"/v1/cubes/{quoted}/export"),
            c.delete(f"/v1/cubes/{quoted}"),
            c.post("/v1/mounts", json={"cube": cube}),
            c.delete(f"/v1/mounts/{quoted}"),
            c.post("/v1/memories/some-id/share", json={"to": cube}),
        ]
    for r in responses:
        assert 400 <= r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text)
        assert r.json()["error"]["code"] in {"invalid", "not_found", "too_large", "method_not_allowed"}


@pytest.mark.parametrize("agent", ["../bob", "a/b", "", "x" * 65, "bob\x00", "é"])
def test_hostile_agent_ids_in_grants_are_refused(auth_server: AuthServer, snapshot, agent):
    with auth_server.as_("alice") as c:
        cube = c.post("/v1/cubes", json={"name": "grants"}).json()["id"]
        r = c.post(f"/v1/cubes/{cube}/members", json={"agent": agent, "role": "read"})
        assert r.status_code in (400, 422), r.text
        assert [m["agent"] for m in c.get(f"/v1/cubes/{cube}/members").json()] == ["alice"]
        c.delete(f"/v1/cubes/{cube}")
