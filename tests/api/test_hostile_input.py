"""Hostile input (issue 13): every probe the issue names gets one clean 4xx, the same on both ways
into `POST /v1/memories`, writes nothing, and no stored record can take down a read of its cube.

The fast path answers a write without a query string; `?wait=false` is the same write through
FastAPI's route, and `?wait=true` the route again with read-your-writes. All three must agree.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import apsw
import pytest

from api.json_route import JsonRoute
from api.server_process import MEMOS, ServerProcess

JSON = {"content-type": "application/json"}


def nested(depth: int) -> bytes:
    return ('{"content": "deep", "metadata": ' + '{"a": ' * depth + "1" + "}" * depth + "}").encode()


# (probe, raw body, status, code): each was a 500, a 202 that broke the cube, or a wrong code.
PROBES = [
    ("year 0 in UTC", b'{"content": "x", "created_at": "0001-01-01T00:00:00+14:00"}', 422, "invalid"),
    ("year 10000 in UTC", b'{"content": "x", "created_at": "9999-12-31T23:59:59-14:00"}', 422, "invalid"),
    ("year 10000 by a minute", b'{"content": "x", "created_at": "9999-12-31T23:59:59+00:01"}', 422, "invalid"),
    ("a time without a zone", b'{"content": "x", "created_at": "2026-01-01T10:00:00"}', 422, "invalid"),
    ("a time as a number", b'{"content": "x", "created_at": 1700000000}', 422, "invalid"),
    ("metadata 254 deep", nested(254), 400, "malformed_request"),
    ("metadata 600 deep", nested(600), 400, "malformed_request"),
    ("metadata 1100 deep", nested(1100), 400, "malformed_request"),
    ("a lone surrogate in a metadata key", b'{"content": "x", "metadata": {"\\ud800": 1}}', 400, "malformed_request"),
    ("a lone surrogate in a metadata value", b'{"content": "x", "metadata": {"k": "a\\udfffb"}}', 400,
     "malformed_request"),
    ("a lone surrogate in the content", b'{"content": "\\ud83d"}', 400, "malformed_request"),
    ("an integer over 64 bits in metadata", b'{"content": "x", "metadata": {"n": 123456789012345678901234567890}}',
     422, "invalid"),
    ("an integer over 2**53 in metadata", b'{"content": "x", "metadata": {"n": 9007199254740993}}', 422, "invalid"),
    ("an integer over 64 bits in tool", b'{"content": "x", "tool": {"name": "t", "duration_ms": 99999999999999999999}}',
     422, "invalid"),
    ("an integer over 64 bits in tool arguments",
     b'{"content": "x", "tool": {"name": "t", "arguments": {"n": -99999999999999999999}}}', 422, "invalid"),
    ("a float past the number range", b'{"content": "x", "metadata": {"f": 1e400}}', 422, "invalid"),
    ("NaN", b'{"content": "x", "metadata": {"f": NaN}}', 400, "malformed_request"),
    ("Infinity", b'{"content": "x", "metadata": {"f": -Infinity}}', 400, "malformed_request"),
    ("invalid UTF-8", b'{"content": "caf\xe9"}', 400, "malformed_request"),
    ("a surrogate encoded as UTF-8", b'{"content": "\xed\xa0\x80"}', 400, "malformed_request"),
    ("not JSON", b'{"content": ', 400, "malformed_request"),
    ("a bool for an integer", b'{"content": "x", "tool": {"name": "t", "duration_ms": false}}', 422, "invalid"),
    ("content left empty beside a tool", b'{"content": "", "tool": {"name": "t"}}', 422, "invalid"),
]
IDS = [p[0] for p in PROBES]


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return body


@pytest.fixture
def probe(server: ServerProcess, request):
    agent = "hostile-" + str(abs(hash(request.node.name)) % 10**8)
    with server.client(agent) as c:
        yield c
        # Whatever was sent, nothing was stored, not even queued.
        assert c.get("/v1/memories", params={"status": "all"}).json()["items"] == []


@pytest.mark.parametrize("name,body,status,code", PROBES, ids=IDS)
def test_each_probe_gets_the_same_clean_4xx_on_the_fast_path_and_the_route(probe, name, body, status, code):
    fast = probe.post("/v1/memories", content=body, headers=JSON)
    routed = probe.post("/v1/memories?wait=false", content=body, headers=JSON)
    waited = probe.post("/v1/memories?wait=true", content=body, headers=JSON)
    error(fast, status, code)
    assert (routed.status_code, routed.json()) == (fast.status_code, fast.json())
    assert (waited.status_code, waited.json()) == (fast.status_code, fast.json())


@pytest.mark.parametrize("name,body,status,code", PROBES, ids=IDS)
def test_each_probe_inside_a_batch_refuses_the_batch_whole(probe, name, body, status, code):
    item = body.decode("utf-8", errors="surrogateescape")
    batch = ('{"items": [{"content": "fine"}, ' + item + "]}").encode("utf-8", errors="surrogateescape")
    error(probe.post("/v1/memories/batch", content=batch, headers=JSON), status, code)


def test_the_year_10000_write_that_once_broke_a_cube_is_refused_and_the_cube_reads_on(probe):
    """The issue's first finding: a 202 for year 10000, then every GET, list and search of the cube answered 500."""
    kept = probe.post("/v1/memories?wait=true", json={"content": "Ravi keeps bees on the roof"}).json()
    error(probe.post("/v1/memories", json={"content": "later", "created_at": "9999-12-31T23:59:59-14:00"}),
          422, "invalid")
    assert probe.get(f"/v1/memories/{kept['id']}").status_code == 200
    assert [m["id"] for m in probe.get("/v1/memories").json()["items"]] == [kept["id"]]
    hits = probe.post("/v1/search", json={"query": "who keeps bees"}).json()["results"]
    assert [h["id"] for h in hits] == [kept["id"]]
    probe.delete(f"/v1/memories/{kept['id']}")  # the fixture checks the cube is empty afterwards


@pytest.mark.parametrize("body", [
    {"query": "x", "since": "0001-01-01T00:00:00+14:00"},
    {"query": "x", "until": "9999-12-31T23:59:59-14:00"},
    {"query": "x", "top_k": True},
    {"query": "x", "ranking": {"bm25_weight": "1"}},
])
def test_searches_hold_times_and_numbers_to_the_same_bounds(probe, body):
    error(probe.post("/v1/search", json=body), 422, "invalid")


@pytest.mark.parametrize("query", ["before=99999999999999999999999", "before=9007199254740992", "before=0"])
def test_audit_before_past_the_integer_range_is_422_not_500(probe, query):
    error(probe.get(f"/v1/audit?{query}"), 422, "invalid")


def test_a_patch_version_past_the_integer_range_is_422(probe):
    error(probe.patch("/v1/memories/x", content=b'{"content": "y", "version": 99999999999999999999}', headers=JSON),
          422, "invalid")


@pytest.mark.parametrize("method,path,allowed", [
    ("PUT", "/v1/memories", "GET, POST"),
    ("PUT", "/v1/memories/some-id", "GET, PATCH, DELETE"),
    ("OPTIONS", "/v1/memories/batch", "POST"),
    ("DELETE", "/v1/search", "POST"),
])
def test_a_405_names_the_methods_the_path_has_in_allow(probe, method, path, allowed):
    response = probe.request(method, path)
    error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


def raw_http(server: ServerProcess, request: bytes, then_close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        if then_close:
            return b""
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize("length", [b"1e20", b"-5", b"12abc", b"99999999999999999999999999"])
@pytest.mark.parametrize("path", [b"/v1/memories", b"/v1/memories?wait=false", b"/v1/search"])
def test_a_content_length_that_is_not_a_size_gets_a_json_400(server, length, path):
    answer = raw_http(server, b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      b"X-Agent-Id: hostile-length\r\nContent-Length: " + length + b"\r\nConnection: close\r\n\r\n{}")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "malformed_request"


def test_a_cut_off_upload_to_the_fast_path_is_never_stored(server):
    """Issue 13: a body shorter than its Content-Length, whose client went away, was parsed and stored."""
    agent = "hostile-cutoff"
    body = json.dumps({"content": "half of this never arrived, and neither did an answer"}).encode()
    for path in (b"/v1/memories", b"/v1/memories?wait=false", b"/v1/memories/batch"):
        sent = body if path != b"/v1/memories/batch" else b'{"items": [' + body + b"]}"
        raw_http(server, b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                 b"X-Agent-Id: " + agent.encode() + b"\r\nContent-Length: " + str(len(sent) + 40).encode()
                 + b"\r\n\r\n" + sent, then_close=True)
    time.sleep(1.0)  # let the server see each disconnect
    with server.client(agent) as c:
        # A write after them, waited for: anything stored before it in the log would be stored by now.
        marker = c.post("/v1/memories?wait=true", json={"content": "the one whole write"})
        assert marker.status_code == 201
        items = c.get("/v1/memories", params={"status": "all"}).json()["items"]
        assert [m["content"] for m in items] == ["the one whole write"]


@pytest.mark.parametrize("header", ["X-Agent-Id", "Authorization"])
@pytest.mark.parametrize("path", ["/v1/memories", "/v1/memories?wait=false", "/v1/memories?wait=true"])
def test_two_caller_headers_in_one_request_are_refused_on_every_path(server, header, path):
    values = ("hostile-first", "hostile-second") if header == "X-Agent-Id" else ("Bearer a", "Bearer b")
    with server.client(None) as c:
        r = c.post(path, json={"content": "who am i"}, headers=[(header, values[0]), (header, values[1])])
        message = error(r, 400, "malformed_request")["error"]["message"]
        assert header.lower() in message
        for agent in ("hostile-first", "hostile-second"):
            assert c.get("/v1/memories", headers={"X-Agent-Id": agent}).json()["items"] == []
    with server.client(None) as c:  # and on a read
        error(c.get("/v1/memories", headers=[(header, values[0]), (header, values[1])]), 400, "malformed_request")


def test_every_router_with_a_body_parses_it_with_the_boundary_parser():
    """One parse for every route: a router left on FastAPI's own json.loads would take NaN, lone
    surrogates and 100-digit integers to a store again."""
    import importlib
    import pkgutil

    import api.routers

    unbounded = []
    for info in pkgutil.iter_modules(api.routers.__path__):
        module = importlib.import_module(f"api.routers.{info.name}")
        router = getattr(module, "router", None)
        for route in getattr(router, "routes", ()):
            if getattr(route, "body_field", None) is not None and not isinstance(route, JsonRoute):
                unbounded.append(f"{info.name}: {sorted(route.methods)} {route.path}")
    assert unbounded == []


# --- defence in depth: a record that cannot be rendered ------------------------------------------

DAMAGE = {
    # what the accepted writes left behind, and what a disk or a hand can leave
    "year10000": ("UPDATE memories SET created_at = 253402300800000 WHERE id = ?", "created_at"),
    "badjson": ("UPDATE memories SET metadata = '{\"unterminated' WHERE id = ?", "metadata"),
    "notutf8": ("UPDATE memories SET content = CAST(x'636166e9' AS TEXT) WHERE id = ?", "content"),
    "texttime": ("UPDATE memories SET updated_at = 'yesterday' WHERE id = ?", "updated_at"),
}


def test_a_damaged_record_never_takes_down_a_read_and_memos_repair_fixes_it(server: ServerProcess):
    agent = "hostile-damage"
    cube = f"agent-{agent}"
    with server.client(agent) as c:
        ids = {}
        for name in DAMAGE:
            r = c.post("/v1/memories?wait=true", json={"id": f"dmg-{name}", "content": f"Orchid care note {name}",
                                                       "kind": "message", "metadata": {"speaker": "Ana"}})
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        healthy = c.post("/v1/memories?wait=true", json={"id": "dmg-healthy", "content": "Orchid care note healthy",
                                                         "kind": "message", "metadata": {"speaker": "Ana"}}).json()
        conn = apsw.Connection(str(server.data_dir / "cubes" / f"{cube}.db"))
        conn.set_busy_timeout(10_000)
        with conn:
            for name, (sql, _) in DAMAGE.items():
                conn.execute(sql, (ids[name],))
        conn.close()

        # Every read of the cube answers; the damaged records are left out, the healthy one is there.
        assert [m["id"] for m in c.get("/v1/memories").json()["items"]] == [healthy["id"]]
        for memory_id in ids.values():
            error(c.get(f"/v1/memories/{memory_id}"), 404, "not_found")
            assert c.get(f"/v1/memories/{memory_id}/timeline").status_code == 404
        assert c.get(f"/v1/memories/{healthy['id']}").json()["content"] == "Orchid care note healthy"
        timeline = c.get(f"/v1/memories/{healthy['id']}/timeline").json()
        assert [m["id"] for m in timeline["items"]] == [healthy["id"]]
        hits = c.post("/v1/search", json={"query": "orchid care note", "top_k": 10}).json()["results"]
        assert [h["id"] for h in hits] == [healthy["id"]]
        for fmt in ("jsonl", "parquet"):
            export = c.get(f"/v1/cubes/{cube}/export", params={"format": fmt})
            assert export.status_code == 200
        lines = [json.loads(line) for line in c.get(f"/v1/cubes/{cube}/export").text.splitlines()]
        assert [m["id"] for m in lines] == [healthy["id"]]
        assert all(f"memory {i}" in server.log_path.read_text(errors="replace") for i in ids.values())

        # memos repair finds each (dry run first: nothing changes), then fixes each.
        env = server.env()
        dry = subprocess.run([MEMOS, "repair", "--dry-run", "--cube", cube, "--json"], env=env,
                             capture_output=True, text=True, timeout=120)
        assert dry.returncode == 0, dry.stderr
        found = json.loads(dry.stdout)
        assert sorted(d["id"] for d in found["damaged"]) == sorted(ids.values()) and found["fixed"] == 0
        assert c.get(f"/v1/memories/{ids['year10000']}").status_code == 404
        fixed = subprocess.run([MEMOS, "repair", "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert fixed.returncode == 0, fixed.stderr
        report = json.loads(fixed.stdout)
        fixed_fields = {d["id"]: d["fixed"] for d in report["damaged"] if d["cube"] == cube}
        assert fixed_fields == {ids[name]: [field] for name, (_, field) in DAMAGE.items()}

        # Readable again, with what could be kept.
        year = c.get(f"/v1/memories/{ids['year10000']}").json()
        assert year["created_at"] == "9999-12-31T23:59:59.999Z"
        bad = c.get(f"/v1/memories/{ids['badjson']}").json()
        assert bad["metadata"] == {"repaired": {"metadata": '{"unterminated'}}
        assert c.get(f"/v1/memories/{ids['notutf8']}").json()["content"] == "caf\N{REPLACEMENT CHARACTER}"
        texttime = c.get(f"/v1/memories/{ids['texttime']}").json()
        assert texttime["updated_at"] == texttime["created_at"]  # a time that is not one: its other time
        assert len(c.get("/v1/memories").json()["items"]) == len(DAMAGE) + 1
        again = subprocess.run([MEMOS, "repair", "--dry-run", "--cube", cube, "--json"], env=env,
                               capture_output=True, text=True, timeout=120)
        assert json.loads(again.stdout)["damaged"] == []


def test_memos_repair_refuses_a_hostile_cube_id(server: ServerProcess):
    r = subprocess.run([MEMOS, "repair", "--cube", "../x", "--json"], env=server.env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("error: invalid:")
    assert not os.path.exists(server.data_dir / "x.db")
