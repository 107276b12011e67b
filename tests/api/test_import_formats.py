"""Other systems' formats end to end through the real server (issue 15): each fixture uploaded to
`POST /v1/import` with `format=auto` is detected, stored as live writes (traces searchable, world
facts read from them, episodes closed), and a second upload stores nothing new; each exporter's
file from `GET /v1/export` is detected as its format and imports back."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from api.server_process import ServerProcess
from pipeline.interchange import formats
from tests.pipeline.interchange.foreign_fixtures import DATA, openmemory_zip, zip_folder


def ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, response.text
    return response


def run_import(c: httpx.Client, path: Path, **params: str) -> dict:
    with path.open("rb") as f:
        started = c.post("/v1/import", params=params, files={"file": (path.name, f)})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    for _ in range(1800):
        report = ok(c.get(f"/v1/import/{job_id}")).json()
        if report["status"] != "running":
            assert report["status"] == "done", report
            return report
        time.sleep(0.1)
    raise AssertionError(f"import {job_id} did not finish")


def _folder(rel: str):
    return lambda tmp: zip_folder(DATA / rel, tmp / "upload.zip")


def _file(rel: str):
    def copy(tmp: Path) -> Path:
        shutil.copy(DATA / rel, tmp / Path(rel).name)
        return tmp / Path(rel).name
    return copy


# format -> (the upload, a memory id it must store, the episode it must close or None)
CASES = {
    "pam": (_folder("pam/export"), "mem-fact-new", "conv-7f3a"),
    "memos-plugin": (_file("memos_plugin/memos-export-2026-05-08.json"), "tr_9h2k4m6p8r0t-tool-0", "ep_a1b2c3d4e5f6"),
    "openclaw": (_folder("openclaw/state"), "openclaw-main-chunk-c0f1",
                 "openclaw-main-4b8e1c2a-6f3d-4e9a-b1c7-2d5f8a0e3b61"),
    "hermes": (_folder("hermes/memories"), None, None),
    "mem0": (lambda tmp: openmemory_zip(tmp / "memories_export_dana.zip"), "e1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8",
             None),
    "letta": (_file("letta/composio_github_star_agent.af"), None, None),
    "basic-memory": (_folder("basic_memory/notes"), "basic-memory-people.dana-okafor", None),
    "chatgpt": (_file("chatgpt/conversations.json"), "chatgpt-67c6b2c1-1f20-8002-ab3c-4d5e6f7a8b9c-a-3",
                "chatgpt-67c5a1b0-0e1f-8001-9a2b-3c4d5e6f7a8b"),
    "claude": (_file("claude/conversations.json"), "claude-0a1b2c3d-0000-4000-8000-000000000003",
               "claude-2b0c6a4e-1d8f-4f7a-9c3b-5e2d1a0f9b87"),
}


@pytest.mark.parametrize("fmt", list(CASES))
def test_each_format_imports_through_the_server_once(server: ServerProcess, tmp_path, fmt):
    make, memory_id, episode_id = CASES[fmt]
    upload = make(tmp_path)
    expected = [o for o in formats.reader(fmt)(upload) if o["object"] == "memory"]
    with server.client(f"fmt_{fmt.replace('-', '_')}", timeout=120) as c:
        report = run_import(c, upload)
        assert report["format"] == fmt and report["errors"] == 0, report
        assert report["by_type"]["memory"]["added"] == len(expected), report
        stored = ok(c.get("/v1/memories", params={"limit": 1000, "tier": "trace"})).json()["items"]
        assert {m["id"] for m in stored} >= {m["id"] for m in expected}
        if memory_id is not None:
            [want] = [m for m in expected if m["id"] == memory_id]
            got = ok(c.get(f"/v1/memories/{memory_id}")).json()
            assert (got["content"], got["kind"]) == (want["content"], want["kind"])
        if episode_id is not None:
            episode = ok(c.get(f"/v1/episodes/{episode_id}")).json()
            assert episode["closed_at"] is not None
        again = run_import(c, upload)
        assert again["added"] == 0 and again["errors"] == 0, again


def test_facts_are_read_from_imported_conversations(server: ServerProcess, tmp_path):
    with server.client("fmt_facts", timeout=120) as c:
        run_import(c, _file("claude/conversations.json")(tmp_path))
        for _ in range(100):
            facts = ok(c.get("/v1/memories", params={"tier": "world", "limit": 100})).json()["items"]
            if facts:
                break
            time.sleep(0.1)
        assert any("café com leite" in f["content"] for f in facts), facts


@pytest.mark.parametrize("fmt", formats.EXPORT_NAMES)
def test_each_exporters_file_is_its_format_and_imports_back(server: ServerProcess, tmp_path, fmt):
    with server.client("fmt_export_source", timeout=120) as c:
        if not ok(c.get("/v1/memories", params={"limit": 1})).json()["items"]:
            run_import(c, _file("memos_plugin/memos-export-2026-05-08.json")(tmp_path))
            run_import(c, _folder("hermes/memories")(tmp_path))
        body = ok(c.get("/v1/export", params={"format": fmt})).content
    path = tmp_path / "exported"
    path.write_bytes(body)
    assert formats.detect(path) == fmt
    with server.client(f"fmt_back_{fmt.replace('-', '_')}", timeout=120) as c:
        report = run_import(c, path)
        assert report["format"] == fmt and report["errors"] == 0 and report["added"] > 0, report
