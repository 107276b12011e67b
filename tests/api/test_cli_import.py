"""`memos import` as a user runs it: the offline and the online import store the world facts their
notes state, like posted notes.

Regression (issue 12): `memos import --offline` skipped the extract and crystallize stages, so it
stored no world facts.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from api.server_process import MEMOS, start_server

NOTE = "Alice prefers green tea."


def world_of(client) -> list[tuple[str, str, str]]:
    items = client.get("/v1/memories", params={"tier": "world"}).json()["items"]
    return [(m["tier"], m["kind"], m["content"]) for m in items]


def test_an_offline_import_of_a_note_stores_its_world_fact(tmp_path: Path):
    source = tmp_path / "notes.jsonl"
    source.write_text(json.dumps({"id": "note-tea", "content": NOTE, "kind": "note"}) + "\n")
    data = tmp_path / "data"
    env = {**os.environ, "MEMOS_DATA_DIR": str(data), "MEMOS_AGENT": "importer"}
    out = subprocess.run([MEMOS, "import", str(source), "--offline", "--json"], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"read": 1, "imported": 1, "skipped": 0, "skipped_examples": [],
                                      "reused_vectors": 0, "cube": "agent-importer"}

    server = start_server(data)
    try:
        with server.client("importer") as c:
            assert world_of(c) == [("world", "fact", NOTE)]
            (fact,) = c.get("/v1/memories", params={"tier": "world"}).json()["items"]
            assert fact["source_ids"] == ["note-tea"]
    finally:
        server.stop()


def test_an_online_import_of_a_note_stores_its_world_fact(server, tmp_path: Path):
    source = tmp_path / "notes.jsonl"
    source.write_text(json.dumps({"content": NOTE}) + "\n" + json.dumps({"content": ""}) + "\n")
    out = subprocess.run([MEMOS, "import", str(source), "--json"], env=server.env(MEMOS_AGENT="online_importer"),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"read": 2, "imported": 1, "skipped": 1,
                                      "skipped_examples": ["row 2: content is missing or empty"]}
    with server.client("online_importer") as c:
        for _ in range(240):  # the online import answers once queued; the pipeline stores it soon after
            if world_of(c):
                break
            time.sleep(0.5)
        assert world_of(c) == [("world", "fact", NOTE)]
