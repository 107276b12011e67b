"""Pages a person opens carry the browser security headers; the JSON API's answers are left exactly as they were."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.server_process import ServerProcess
from api.web.security_headers import REDOC_POLICY, UI_POLICY, SecurityHeaders, policy_for

OURS = ("content-security-policy", "x-frame-options", "referrer-policy", "x-content-type-options")


def directives(policy: str) -> dict[str, list[str]]:
    parsed = [part.split() for part in policy.split(";") if part.strip()]
    return {words[0]: words[1:] for words in parsed}


def test_the_policies_allow_no_inline_or_outside_script_and_no_framing():
    for policy in (UI_POLICY, REDOC_POLICY):
        d = directives(policy)
        assert d["default-src"] == ["'self'"] and d["script-src"] == ["'self'"]
        assert d["object-src"] == ["'none'"] and d["frame-ancestors"] == ["'none'"]
        assert d["base-uri"] == ["'none'"] and d["form-action"] == ["'self'"]
        others = {k: set(v) for k, v in d.items() if k not in ("style-src", "worker-src")}
        assert all(sources <= {"'self'", "'none'", "data:"} for sources in others.values()), policy
        assert d["img-src"] == ["'self'", "data:"]  # data: images only: they cannot run script
    assert directives(UI_POLICY)["style-src"] == ["'self'"]
    # Only ReDoc's runtime styles and its search worker get more, and only on /redoc.
    assert directives(REDOC_POLICY)["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives(REDOC_POLICY)["worker-src"] == ["'self'", "blob:"]


def test_which_paths_get_which_policy():
    assert [policy_for(p) for p in ("/ui", "/ui/", "/ui/memories/01J", "/ui/static/vendor/htmx/htmx.min.js",
                                    "/docs", "/docs/oauth2-redirect")] == [UI_POLICY] * 6
    assert policy_for("/redoc") == REDOC_POLICY
    assert [policy_for(p) for p in ("/", "/v1/memories", "/v1/ui", "/uix", "/docsx", "/openapi.json", "/metrics",
                                    "/mcp", "/redocs")] == [None] * 9


def small_app() -> Starlette:
    async def weak(_: Request) -> Response:
        return PlainTextResponse("page", headers={"Content-Security-Policy": "script-src *", "X-Frame-Options": "ALLOW"})

    async def stream(_: Request) -> Response:
        async def chunks():
            for i in range(3):
                yield f"part {i}\n".encode()
        return StreamingResponse(chunks(), media_type="text/plain", headers={"X-Kept": "yes"})

    return Starlette(routes=[Route("/ui/weak", weak), Route("/ui/stream", stream), Route("/v1/stream", stream)])


def test_a_page_cannot_weaken_the_policy_and_its_own_headers_and_body_pass_through():
    app = small_app()
    client = TestClient(SecurityHeaders(app))
    weak = client.get("/ui/weak")
    assert weak.text == "page"
    assert weak.headers["content-security-policy"] == UI_POLICY
    assert weak.headers["x-frame-options"] == "DENY"
    assert weak.headers.get_list("content-security-policy") == [UI_POLICY]  # replaced, not appended
    streamed = client.get("/ui/stream")
    assert streamed.text == "part 0\npart 1\npart 2\n" and streamed.headers["x-kept"] == "yes"
    assert streamed.headers["referrer-policy"] == "no-referrer"
    assert streamed.headers["x-content-type-options"] == "nosniff"
    untouched = client.get("/v1/stream")
    assert untouched.text == "part 0\npart 1\npart 2\n"
    assert [h for h in OURS if h in untouched.headers] == []


def test_the_server_sends_them_on_ui_docs_and_redoc_and_never_on_the_api(server: ServerProcess):
    with httpx.Client(base_url=server.url, timeout=60, headers={"X-Agent-Id": "headers_probe"}) as c:
        for path, policy in (("/docs", UI_POLICY), ("/redoc", REDOC_POLICY),
                             ("/ui/static/vendor/htmx/htmx.min.js", UI_POLICY),
                             ("/ui/static/vendor/no-such-file.js", UI_POLICY)):
            r = c.get(path)
            assert (r.headers["content-security-policy"], r.headers["x-frame-options"], r.headers["referrer-policy"],
                    r.headers["x-content-type-options"]) == (policy, "DENY", "no-referrer", "nosniff"), path
        written = c.post("/v1/memories", json={"content": "headers probe note"})  # the accept fast path
        assert written.status_code in (200, 201, 202), written.text
        for r in (written, c.get("/v1/health"), c.get("/v1/memories"), c.get("/openapi.json"),
                  c.post("/v1/search", json={"query": "probe"})):
            assert [h for h in OURS if h in r.headers] == [], r.request.url


def test_static_files_are_served_with_their_script_and_style_types(server: ServerProcess):
    # nosniff makes the browser refuse a script or stylesheet whose type is wrong
    js = httpx.get(f"{server.url}/ui/static/vendor/cytoscape/cytoscape.min.js")
    css = httpx.get(f"{server.url}/ui/static/vendor/uplot/uPlot.min.css")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    missing = httpx.get(f"{server.url}/ui/static/vendor/no-such-file.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
