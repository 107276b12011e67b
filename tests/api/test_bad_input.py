"""Bad input gets a clear JSON error with a stable code and a 4xx, and changes nothing."""

from __future__ import annotations

import pytest

from api.server_process import ServerProcess


@pytest.fixture
def mallory(server: ServerProcess, request):
    name = f"bad-{request.node.name[:40]}".replace("[", "_").replace("]", "").replace("-", "_")
    with server.client(name) as c:
        yield c
        # Whatever was sent, this agent holds no memory afterwards.
        assert c.get("/v1/memories?status=all").json()["items"] == []


def error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


BAD_WRITES = [
    ({"content": 5}, 422, "invalid"),
    ({}, 422, "invalid"),
    ({"content": ""}, 422, "invalid"),
    ({"content": "   \n\t "}, 422, "invalid"),
    ({"content": "x", "kind": "poem"}, 422, "invalid"),
    ({"content": "x", "tags": "notalist"}, 422, "invalid"),
    ({"content": "x", "tags": ["a" * 129]}, 422, "invalid"),
    ({"content": "x", "tags": ["t"] * 65}, 422, "invalid"),
    ({"content": "x", "tags": ["bad\x00tag"]}, 422, "invalid"),
    ({"content": "x", "metadata": [1, 2]}, 422, "invalid"),
    ({"content": "x", "id": "../etc/passwd"}, 422, "invalid"),
    ({"content": "x", "id": "a/b"}, 422, "invalid"),
    ({"content": "x", "id": "x" * 200}, 422, "invalid"),
    ({"content": "x", "created_at": "yesterday-ish"}, 422, "invalid"),
    ({"content": "x", "surprise": True}, 422, "invalid"),
    ({"content": "x" * 40_000}, 413, "too_large"),
]


@pytest.mark.parametrize("body,status,code", BAD_WRITES)
def test_bad_memory_bodies_are_refused(mallory, body, status, code):
    error(mallory.post("/v1/memories", json=body), status, code)


@pytest.mark.parametrize("body,status,code", BAD_WRITES)
def test_the_fast_accept_path_refuses_exactly_like_the_route(mallory, body, status, code):
    # A query string sends a write through FastAPI's route; without one, the fast path answers it.
    fast, routed = mallory.post("/v1/memories", json=body), mallory.post("/v1/memories?wait=false", json=body)
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    error(fast, status, code)


def test_malformed_json_and_non_objects_are_400(mallory):
    headers = {"content-type": "application/json"}
    error(mallory.post("/v1/memories", content=b"{not json", headers=headers), 400, "malformed_request")
    error(mallory.post("/v1/memories", content=b"[1, 2]", headers=headers), 400, "malformed_request")
    error(mallory.post("/v1/search", content=b'"just a string"', headers=headers), 400, "malformed_request")


@pytest.mark.parametrize("url", ["/v1/memories", "/v1/memories?wait=false", "/v1/search"])
def test_a_form_typed_body_is_400_naming_the_content_type_to_send(mallory, url):
    """Issue 12: the README's `curl -d` sent a form type and got only "the body must be a JSON object".

    The strict check stays (a cross-site form cannot post to a keyless loopback server); the
    message says what to send."""
    body = b'{"content": "Alice prefers green tea", "query": "tea"}'
    message = error(mallory.post(url, content=body, headers={"content-type": "application/x-www-form-urlencoded"}),
                    400, "malformed_request")
    assert message == ("the body must be a JSON object sent with 'Content-Type: application/json' "
                       "(this request sent 'application/x-www-form-urlencoded')")
    assert error(mallory.post(url, content=b"[1, 2]", headers={"content-type": "application/json"}),
                 400, "malformed_request") == "the body must be a JSON object"


def test_a_body_over_the_limit_is_413_before_parsing(mallory):
    error(mallory.post("/v1/memories", content=b"x" * 5_000_000, headers={"content-type": "application/json"}),
          413, "too_large")

    def chunks():
        for _ in range(50):
            yield b"y" * 100_000

    error(mallory.post("/v1/memories", content=chunks(), headers={"content-type": "application/json"}),
          413, "too_large")


@pytest.mark.parametrize("agent", ["../x", "a/b", "", "x" * 65, "é"])
def test_bad_agent_ids_are_refused(server, agent):
    with server.client(None) as c:
        response = c.post("/v1/memories", json={"content": "x"}, headers={"X-Agent-Id": agent.encode()})
    error(response, 400, "invalid_agent")


def test_bad_batches_are_refused_whole(mallory):
    error(mallory.post("/v1/memories/batch", json={"items": []}), 422, "invalid")
    error(mallory.post("/v1/memories/batch", json={"items": [{"content": "ok"}, {"content": 3}]}), 422, "invalid")
    error(mallory.post("/v1/memories/batch", json={"items": [{"content": "x"}] * 1001}), 413, "too_large")
    error(mallory.post("/v1/memories/batch", json={"things": []}), 422, "invalid")


def test_unknown_and_odd_ids_are_404(mallory):
    for path in ("/v1/memories/nope", "/v1/memories/%2E%2E%2Fx", "/v1/memories/" + "z" * 300):
        error(mallory.get(path), 404, "not_found")
    error(mallory.patch("/v1/memories/nope", json={"content": "x"}), 404, "not_found")
    error(mallory.delete("/v1/memories/nope"), 404, "not_found")
    error(mallory.get("/v1/jobs/nope"), 404, "not_found")
    error(mallory.get("/v1/jobs/job-01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404, "not_found")


def test_bad_patches_are_refused(mallory):
    error(mallory.patch("/v1/memories/x", json={}), 422, "invalid")
    error(mallory.patch("/v1/memories/x", json={"content": ""}), 422, "invalid")
    error(mallory.patch("/v1/memories/x", json={"version": "two", "tags": []}), 422, "invalid")


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=100000", "kind=poem", "status=gone",
                                   "cursor=%%%", "cursor=bm90IGEgY3Vyc29y"])
def test_bad_list_parameters_are_refused(mallory, query):
    error(mallory.get(f"/v1/memories?{query}"), 422, "invalid")


@pytest.mark.parametrize("body", [{}, {"query": ""}, {"query": "x", "top_k": 0}, {"query": "x", "top_k": 101},
                                  {"query": "x", "kinds": ["poem"]}, {"query": "x" * 5000},
                                  {"query": "x", "tags": "a"}, {"query": ["x"]}])
def test_bad_searches_are_refused(mallory, body):
    error(mallory.post("/v1/search", json=body), 422, "invalid")


def test_wrong_methods_and_paths(mallory):
    wrong = mallory.put("/v1/memories")
    error(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"] == "GET, POST"  # RFC 9110: a 405 names what the path takes
    error(mallory.get("/v1/nothing-here"), 404, "not_found")


def test_another_agents_job_is_not_found(server):
    with server.client("job_owner") as owner, server.client("job_snoop") as snoop:
        job_id = owner.post("/v1/memories", json={"content": "mine"}).json()["job_id"]
        error(snoop.get(f"/v1/jobs/{job_id}"), 404, "not_found")
        assert owner.get(f"/v1/jobs/{job_id}").status_code == 200
