"""The OpenAPI document is the contract (issue 13): schemathesis, every check, every operation.

schemathesis (pinned, 4.32.5) reads /openapi.json from a real server this module starts and runs
its phases (coverage, fuzzing, stateful) over every operation the document holds at test time
(operations mounted with include_in_schema=False, such as the web UI or /mcp, are not in it),
with a fixed seed, deterministic generation and a bounded number of examples per operation. It
must find no server error, no schema-valid request refused, no schema-violating request
accepted, and no status, content type, header or body the document does not declare.

Configured, and why:
- negative_data_rejection also takes 413: over a size limit the server answers `too_large`, a
  refusal the API documents, where schemathesis by default expects only 400/422-like codes;
- tests/api/openapi_hooks.py tells the generator the one rule JSON Schema cannot state (a
  search's `until` later than its `since`);
- `POST /v1/import` may refuse a schema-valid upload with 415 or 422: what is inside the file
  (some format the server reads, and valid in it) is beyond what a schema can say of its bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.server_process import ServerProcess, start_server

SEED = 13
EXAMPLES = 10  # per operation and phase: about 2,500 requests over ~40 operations, under 3 minutes on 2 cores
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
ROOT = Path(__file__).resolve().parents[2]

CONFIG = f"""
seed = {SEED}
hooks = "tests.api.openapi_hooks"
workers = 1
request-timeout = 90  # over wait_timeout_s (30 s): a share or a patch waits for the pipeline

[generation]
max-examples = {EXAMPLES}
deterministic = true

[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]

[[operations]]
include-path = "/v1/import"
include-method = "POST"
checks = {{ positive_data_acceptance = {{ expected-statuses = ["2xx", 401, 403, 404, 409, 415, 422, 429] }} }}
"""


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Its own server: the fuzzer makes agents, cubes and memories no other test should meet.
    proc = start_server(tmp_path_factory.mktemp("contract") / "data", world_model="false")
    try:
        yield proc
    finally:
        proc.stop()


def test_schemathesis_finds_the_server_doing_exactly_what_its_openapi_says(contract_server, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
    run = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(config), "--no-color", "run", f"{contract_server.url}/openapi.json",
         "--checks", "all", "--report", "json", "--report-json-path", str(report)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=1500,
    )
    summary = json.loads(report.read_text())
    figures = (f"schemathesis: {summary['operations']['tested']} operations, "
               f"{summary['test_cases']['generated']} requests, {summary['running_time']:.0f} s, seed {SEED}")
    print(figures)
    failures = run.stdout[run.stdout.find("FAILURES"):] if "FAILURES" in run.stdout else run.stdout[-6000:]
    assert run.returncode == 0, f"{figures}\n{failures[:20000]}\n{run.stderr[-3000:]}"
    assert summary["operations"]["tested"] == summary["operations"]["selected"] == summary["operations"]["total"]
    assert summary["failures"] == [] and summary["errors"] == []
    assert {p["status"] for p in summary["phases"].values()} <= {"success", "skip"}
