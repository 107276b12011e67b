"""Metrics, request ids and access logs on a real server.

`/metrics` is read with prometheus-client's own parser and its counters must rise with the traffic
sent; the access log must hold one JSON line per request, with its template, status, agent and
sizes, and never a memory's content, a query or a key.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from actors.stage_chain import Stage
from tests.api.conftest import AuthServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def scrape(client) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def labels_of(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(key)[label] for (n, key) in samples if n == name and label in dict(key)}


def test_requests_are_counted_by_route_template_and_status(server):
    with server.client("obs-count") as c:
        before = scrape(c)
        for i in range(5):
            assert c.post("/v1/memories", json={"content": f"counted note {i}"}).status_code == 202  # fast path
        for _ in range(2):
            assert c.get("/v1/memories/obs-missing").status_code == 404
        after = scrape(c)
    accepted = {"method": "POST", "route": "/v1/memories", "status": "202"}
    missing = {"method": "GET", "route": "/v1/memories/{memory_id}", "status": "404"}
    for name in ("memos_http_requests_total", "memos_http_request_duration_seconds_count"):
        assert value(after, name, **accepted) - value(before, name, **accepted) == 5
        assert value(after, name, **missing) - value(before, name, **missing) == 2
    assert value(after, "memos_http_errors_total", code="not_found") - value(before, "memos_http_errors_total",
                                                                             code="not_found") == 2
    # No raw path becomes a label: the id asked for is not in any route label.
    assert not any("obs-missing" in route for route in labels_of(after, "memos_http_requests_total", "route"))


def test_pipeline_search_hot_vectors_and_prefetch_figures_follow_the_work(server):
    with server.client("obs-work") as c, server.client("obs-cold") as cold:
        before = scrape(c)
        episode = c.post("/v1/episodes", json={"task": "water the ferns"}).json()["id"]
        c.post("/v1/memories?wait=true", json={"content": "watered the ferns by the window", "episode": episode})
        assert c.patch(f"/v1/episodes/{episode}", json={"outcome": "success"}).status_code == 200
        assert c.post("/v1/search", json={"query": "when were the ferns watered"}).status_code == 200
        assert cold.post("/v1/search", json={"query": "nothing written here"}).status_code == 200
        after = scrape(c)

    stages = {s.value for s in Stage}
    assert labels_of(after, "memos_stage_rows_total", "stage") == stages  # embed_derived ran for the close
    for stage in stages:
        assert value(after, "memos_stage_batch_rows_count", stage=stage) > value(
            before, "memos_stage_batch_rows_count", stage=stage), stage
        assert value(after, "memos_stage_busy_seconds_total", stage=stage) > 0
        assert value(after, "memos_stage_rows_per_second", stage=stage) > 0
    assert value(after, "memos_embed_texts_total") > value(before, "memos_embed_texts_total")
    assert value(after, "memos_embed_texts_per_second") > 0
    for step in ("embed", "vector", "bm25", "bm25_wait", "fuse", "fetch"):
        assert value(after, "memos_search_step_seconds_count", step=step) - value(
            before, "memos_search_step_seconds_count", step=step) >= 2, step
    assert value(after, "memos_search_seconds_count") - value(before, "memos_search_seconds_count") >= 2
    assert value(after, "memos_hot_vectors_bytes") >= 384 * 4 and value(after, "memos_hot_cubes") >= 1
    # Each search is a prefetch hit or a miss (which, depends on the background thread's timing: the
    # prediction itself is tested in tests/service/test_prefetch.py); the cold cube's is a miss.
    searched = sum(value(after, f"memos_prefetch_{o}_total") - value(before, f"memos_prefetch_{o}_total")
                   for o in ("hits", "misses"))
    assert searched >= 2
    assert value(after, "memos_prefetch_misses_total") - value(before, "memos_prefetch_misses_total") >= 1
    assert ("memos_prefetch_pools", frozenset()) in after
    assert value(after, "memos_ready") == 1
    for gauge in ("memos_intake_pending", "memos_jobs_pending", "memos_pipeline_in_flight_batches"):
        assert (gauge, frozenset()) in after, gauge
    assert value(after, "memos_pipeline_batches_total") > value(before, "memos_pipeline_batches_total")


def test_a_request_id_is_kept_when_valid_else_generated_and_always_echoed(server):
    with server.client("obs-ids") as c:
        fast = c.post("/v1/memories", json={"content": "an id for this one"}, headers={"X-Request-Id": "client-42"})
        routed = c.get("/v1/memories", headers={"X-Request-Id": "trace:9f86d081/abc=="})
        error = c.get("/v1/memories/obs-none", headers={"X-Request-Id": "err-1"})
        too_big = c.post("/v1/memories?wait=true", content=b"x" * 5_000_000,
                         headers={"content-type": "application/json", "X-Request-Id": "big-1"})
        assert (fast.status_code, routed.status_code, error.status_code, too_big.status_code) == (202, 200, 404, 413)
        assert [r.headers["x-request-id"] for r in (fast, routed, error, too_big)] == [
            "client-42", "trace:9f86d081/abc==", "err-1", "big-1"]
        for refused in ("has spaces", "x" * 129, "semi;colon", ""):
            r = c.get("/v1/health", headers={"X-Request-Id": refused})
            assert GENERATED_ID.fullmatch(r.headers["x-request-id"]), refused
        assert GENERATED_ID.fullmatch(c.get("/v1/health").headers["x-request-id"])


def access_lines(log_text: str) -> list[dict]:
    lines = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "memos.access":
                lines.append(record)
    return lines


def wait_for_lines(log_path, ids: set[str], timeout: float = 20) -> dict[str, list[dict]]:
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, list[dict]] = {}
        for record in access_lines(log_path.read_text(errors="replace")):
            if record["request_id"] in ids:
                found.setdefault(record["request_id"], []).append(record)
        if set(found) == ids or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_one_access_line_per_request_and_never_content_queries_or_keys(server, auth_server: AuthServer):
    secret = f"zebra{uuid.uuid4().hex}"  # in a memory's content, a query, a query string, a header
    with server.client("obs-log") as c:
        sent = {
            "log-fast": c.post("/v1/memories", json={"content": f"the word is {secret}"},
                               headers={"X-Request-Id": "log-fast"}),
            "log-route": c.post("/v1/memories?wait=true", json={"content": f"again {secret}", "tags": [secret]},
                                headers={"X-Request-Id": "log-route"}),
            "log-search": c.post("/v1/search", json={"query": f"what is {secret}"},
                                 headers={"X-Request-Id": "log-search"}),
            "log-list": c.get("/v1/memories", params={"tag": secret}, headers={"X-Request-Id": "log-list"}),
            "log-miss": c.get(f"/v1/memories/{secret}", headers={"X-Request-Id": "log-miss"}),
        }
    found = wait_for_lines(server.log_path, set(sent))
    assert {rid: len(lines) for rid, lines in found.items()} == {rid: 1 for rid in sent}
    expected = {"log-fast": ("POST", "/v1/memories", 202), "log-route": ("POST", "/v1/memories", 201),
                "log-search": ("POST", "/v1/search", 200), "log-list": ("GET", "/v1/memories", 200),
                "log-miss": ("GET", "/v1/memories/{memory_id}", 404)}
    for rid, (method, route, status) in expected.items():
        (line,) = found[rid]
        assert (line["method"], line["route"], line["status"], line["agent"]) == (method, route, status, "obs-log")
        assert line["level"] == "info" and line["duration_ms"] > 0 and line["bytes"] == len(sent[rid].content)
        assert set(line) == {"ts", "level", "logger", "msg", "request_id", "method", "route", "status",
                             "duration_ms", "agent", "bytes_in", "bytes"} | ({"code"} if status >= 400 else set())
    assert found["log-fast"][0]["bytes_in"] == len(sent["log-fast"].request.content)
    assert found["log-miss"][0]["code"] == "not_found"
    assert secret not in server.log_path.read_text(errors="replace")

    key = auth_server.keys["alice"]
    with auth_server.as_("alice") as alice:
        assert alice.get("/v1/cubes", headers={"X-Request-Id": "log-keyed"}).status_code == 200
    with httpx.Client(base_url=auth_server.server.url) as anonymous:
        assert anonymous.get("/v1/cubes", headers={"X-Request-Id": "log-nokey"}).status_code == 401
    found = wait_for_lines(auth_server.server.log_path, {"log-keyed", "log-nokey"})
    assert found["log-keyed"][0]["agent"] == "alice" and found["log-nokey"][0]["agent"] is None
    assert found["log-nokey"][0]["code"] == "unauthorized"
    assert key not in auth_server.server.log_path.read_text(errors="replace")


def test_metrics_need_no_key_on_a_loopback_server_even_with_auth_on(auth_server: AuthServer):
    with httpx.Client(base_url=auth_server.server.url) as anonymous:
        assert anonymous.get("/v1/cubes").status_code == 401
        samples = scrape(anonymous)  # metrics_auth "auto": open while the server binds loopback
    assert value(samples, "memos_ready") == 1
    assert value(samples, "memos_http_requests_total", method="GET", route="/v1/cubes", status="401") >= 1


def test_every_exported_figure_is_documented_and_every_documented_one_exported(server):
    with server.client("obs-docs") as c:
        c.get("/v1/memories/obs-docs-missing")
        c.post("/v1/memories?wait=true", json={"content": "a note for the metrics docs"})
        c.post("/v1/search", json={"query": "metrics docs"})
        samples = scrape(c)
    exported = set()
    for name, _ in samples:
        for suffix in ("_bucket", "_count", "_sum", "_total"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        exported.add(name)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text()
    documented = {name.removesuffix("_total") for row in re.findall(r"^\| (`memos_[^|]+)\|", doc, re.M)
                  for name in re.findall(r"`(memos_\w+)`", row)}
    assert exported == documented
