"""The accept fast path (api/accept_fast_path.py) answers exactly as the route it stands in front of.

A write without a query string is answered by the fast path; `?wait=false` means the same write
but forces FastAPI's route, so every pair below is one request through each.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware

from api import errors
from api.accept_fast_path import AcceptFastPath
from api.app import create_app
from configs import Settings

# What uvicorn adds to every answer; the rest of the headers are the app's own.
SERVER_HEADERS = {"date", "server"}


@pytest.fixture
def agent(server, request):
    with server.client(f"fp-{request.node.name[:40]}".replace("[", "_").replace("]", "")) as c:
        yield c


def stored(client, memory_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/v1/memories/{memory_id}")
        if r.status_code == 200 or time.monotonic() > deadline:
            assert r.status_code == 200, r.text
            return r.json()
        time.sleep(0.05)


def app_headers(response) -> dict[str, str]:
    """The answer's own headers; its X-Request-Id (api/request_observer.py, outside both paths) is per request."""
    assert response.headers["x-request-id"]
    return {k: v for k, v in response.headers.items() if k not in SERVER_HEADERS | {"content-length", "x-request-id"}}


def test_a_plain_write_gets_the_same_202_from_the_fast_path_and_the_route(agent):
    fast = agent.post("/v1/memories", json={"content": "The fast path took this one", "tags": ["fp"]})
    routed = agent.post("/v1/memories?wait=false", json={"content": "The route took this one", "tags": ["fp"]})
    assert (fast.status_code, routed.status_code) == (202, 202)
    for body in (fast.json(), routed.json()):
        assert set(body) == {"id", "job_id", "status"} and body["status"] == "queued"
        assert body["job_id"].startswith("job-")
    assert app_headers(fast) == app_headers(routed) == {"content-type": "application/json"}
    # Both were stored, each as written.
    assert stored(agent, fast.json()["id"])["content"] == "The fast path took this one"
    assert stored(agent, routed.json()["id"])["content"] == "The route took this one"
    assert stored(agent, routed.json()["id"])["tags"] == stored(agent, fast.json()["id"])["tags"] == ["fp"]


def test_an_id_written_before_gets_the_same_200_exists_from_both(agent):
    first = agent.post("/v1/memories?wait=true", json={"id": "fp-twice", "content": "written once"})
    assert first.status_code == 201
    fast = agent.post("/v1/memories", json={"id": "fp-twice", "content": "written once"})
    routed = agent.post("/v1/memories?wait=false", json={"id": "fp-twice", "content": "written once"})
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    assert fast.status_code == 200 and fast.json()["status"] == "exists"


def test_a_write_to_a_cube_the_caller_cannot_see_is_the_same_404_from_both(agent):
    body = {"content": "x", "cube": "kb-01M8ZZZZZZZZZZZZZZZZZZZZZZ"}
    fast, routed = agent.post("/v1/memories", json=body), agent.post("/v1/memories?wait=false", json=body)
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    assert fast.status_code == 404 and fast.json()["error"]["code"] == "not_found"


def test_repeated_agent_headers_are_the_same_400_on_both_paths(server):
    """Issue 13: with two X-Agent-Id headers the fast path wrote to one cube and the route to the other;
    two identities in one request are now refused, by both, with the same answer."""
    headers = [("X-Agent-Id", "fp-first"), ("X-Agent-Id", "fp-second")]
    with server.client(None) as c:
        fast = c.post("/v1/memories", json={"content": "who am i"}, headers=headers)
        routed = c.post("/v1/memories?wait=true", json={"content": "who am i"}, headers=headers)
        assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
        assert fast.status_code == 400 and fast.json()["error"]["code"] == "malformed_request"
        for agent in ("fp-first", "fp-second"):
            assert c.get("/v1/memories", headers={"X-Agent-Id": agent}).json()["items"] == []


def test_a_body_without_a_content_type_is_the_same_400_on_both_paths(agent):
    # FastAPI's route does not parse a body sent with no Content-Type; the fast path once took it (202).
    fast = agent.post("/v1/memories", content=b'{"content": "no type"}')
    routed = agent.post("/v1/memories?wait=false", content=b'{"content": "no type"}')
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    assert fast.status_code == 400 and fast.json()["error"] == {
        "code": "malformed_request",
        "message": "the body must be a JSON object sent with 'Content-Type: application/json' (this request sent none)"}


def test_a_chunked_body_over_the_limit_is_left_to_the_body_limit(agent):
    # No declared length: the fast path passes it on and BodyLimit, inside it, refuses it.
    def chunks():
        for _ in range(50):
            yield b"y" * 100_000

    r = agent.post("/v1/memories", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def middleware_chain(app) -> list[type]:
    layers, layer = [], app.build_middleware_stack()
    while layer is not None and not isinstance(layer, ExceptionMiddleware):
        layers.append(type(layer))
        layer = getattr(layer, "app", None)
    return [*layers, type(layer)]


def test_the_fast_path_sits_inside_the_error_layer_and_right_outside_the_body_limit(tmp_path: Path):
    """What the order guarantees.

    - Inside ServerErrorMiddleware: a failure in the fast path is answered as every other failure,
      with the JSON 500 error of api/errors.py, never a dropped connection.
    - Right outside BodyLimit and the exception handlers: the hot path skips them (that is its speed),
      which is safe only because it takes nothing BodyLimit would refuse (a declared length within the
      limit) and maps domain errors itself with the same function the handlers use.
    """
    chain = middleware_chain(create_app(Settings(data_dir=tmp_path / "data")))
    assert chain[0] is ServerErrorMiddleware and chain[-1] is ExceptionMiddleware
    fast = chain.index(AcceptFastPath)
    assert chain[fast + 1] is errors.BodyLimit and chain[fast + 2] is ExceptionMiddleware


def test_before_the_runtime_serves_both_paths_answer_the_same_503(tmp_path: Path):
    # No lifespan here: the runtime never starts, as in the seconds before a server is ready.
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data")))
    fast = client.post("/v1/memories", json={"content": "too early"})
    routed = client.post("/v1/memories?wait=false", json={"content": "too early"})
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    assert fast.status_code == 503 and fast.json()["error"]["code"] == "unavailable"
