"""The front door's outer layer (api/request_observer.py) and its switches, on the app itself.

No runtime is started here: what is checked is what the layer adds to every answer (while the
runtime starts, too), what the `metrics`, `metrics_auth` and `access_log` settings switch, and
that a failure nobody handled is still a JSON 500 carrying its request id.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.json_logs import ACCESS_LOGGER, JsonFormatter, request_id
from api.request_observer import RequestObserver
from configs import Settings
from service.metrics import ServerMetrics


def app_with(tmp_path: Path, **settings) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", **settings)))


def access_fields(caplog, expected: int, timeout: float = 10.0) -> list[dict]:
    """The access lines logged so far (they reach the logger in batches, within a tenth of a second)."""
    deadline = time.monotonic() + timeout
    while True:
        fields = [f for r in caplog.records if r.name == ACCESS_LOGGER for _, f in r.lines]
        if len(fields) >= expected or time.monotonic() > deadline:
            return fields
        time.sleep(0.05)


def test_metrics_and_the_access_log_are_on_by_default(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    client = app_with(tmp_path)
    health = client.get("/v1/health", headers={"X-Request-Id": "default-1"})
    assert health.json()["status"] == "starting" and health.headers["x-request-id"] == "default-1"
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["memos_ready"].samples[0].value == 0  # the runtime is not serving yet
    (sample,) = [s for s in families["memos_http_requests"].samples if s.labels["route"] == "/v1/health"]
    assert sample.labels == {"method": "GET", "route": "/v1/health", "status": "200"} and sample.value == 1
    lines = access_fields(caplog, 2)
    assert [(f["request_id"], f["route"], f["status"]) for f in lines][:1] == [("default-1", "/v1/health", 200)]
    assert [(f["route"], f["status"]) for f in lines] == [("/v1/health", 200), ("/metrics", 200)]


def test_metrics_and_access_log_switched_off(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    client = app_with(tmp_path, metrics=False, access_log=False)
    assert client.get("/metrics").json()["error"]["code"] == "not_found"
    assert client.get("/v1/health", headers={"X-Request-Id": "off-1"}).headers["x-request-id"] == "off-1"
    time.sleep(0.3)  # longer than a batch takes to reach the logger
    assert [r for r in caplog.records if r.name == ACCESS_LOGGER] == []


@pytest.mark.parametrize(("host", "mode", "open_"), [
    ("127.0.0.1", "auto", True), ("0.0.0.0", "auto", False), ("127.0.0.1", "admin", False),
    ("0.0.0.0", "none", True),
])
def test_metrics_auth_decides_whether_a_scrape_must_show_an_operator(tmp_path, host, mode, open_):
    # Without a running runtime an operator cannot be checked: a guarded scrape is refused as every
    # route is while the server starts (503), an open one is answered.
    r = app_with(tmp_path, host=host, metrics_auth=mode).get("/metrics")
    answered = (r.status_code, r.headers["content-type"].startswith("text/plain"))
    assert answered == ((200, True) if open_ else (503, False))


def test_a_failure_nobody_handled_is_a_json_500_with_its_request_id(caplog):
    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    metrics = ServerMetrics(lambda: None)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    app = RequestObserver(broken, routes=[], accept_path="/v1/memories", metrics=metrics, access_log=True)
    r = TestClient(app, raise_server_exceptions=False).get("/anything", headers={"X-Request-Id": "oops-1"})
    assert (r.status_code, r.json()) == (500, {"error": {"code": "internal", "message":
                                                         "the server failed to handle this request; see its log"}})
    assert r.headers["x-request-id"] == "oops-1"
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    assert [(s.labels, s.value) for s in families["memos_http_errors"].samples] == [({"code": "internal"}, 1.0)]
    (failure,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    app.access.flush()
    (access,) = access_fields(caplog, 1)
    assert failure.exc_info is not None and (access["status"], access["route"], access["code"]) == (
        500, "unmatched", "internal")


def test_a_batch_of_access_lines_is_written_one_json_line_per_request():
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, "%d requests", (2,), None)
    record.lines = [(1796171521.584, {"request_id": "a", "status": 200}), (1796171521.9, {"request_id": "b",
                                                                                          "status": 404})]
    lines = [json.loads(line) for line in JsonFormatter().format(record).split("\n")]
    assert lines == [
        {"ts": "2026-12-02T00:32:01.584Z", "level": "info", "logger": ACCESS_LOGGER, "msg": "request",
         "request_id": "a", "status": 200},
        {"ts": "2026-12-02T00:32:01.900Z", "level": "info", "logger": ACCESS_LOGGER, "msg": "request",
         "request_id": "b", "status": 404},
    ]


def test_a_log_line_is_one_json_object_with_the_request_id_it_was_written_under():
    formatter = JsonFormatter()
    token = request_id.set("rid-7")
    try:
        record = logging.LogRecord("memos.access", logging.INFO, __file__, 1, "request", None, None)
        record.fields = {"route": "/v1/search", "status": 200}
        line = formatter.format(record)
    finally:
        request_id.reset(token)
    decoded = json.loads(line)
    assert list(decoded) == ["ts", "level", "logger", "msg", "request_id", "route", "status"]
    assert (decoded["level"], decoded["request_id"], decoded["route"]) == ("info", "rid-7", "/v1/search")
    assert decoded["ts"].endswith("Z") and "\n" not in line
