"""`memos import` and `memos export` as a user runs them.

Regression (issue 12): `memos import --offline` skipped the extract and crystallize stages, so it
stored no world facts. Issue 15: both imports check the whole file first and refuse an invalid
one, naming the line and field; `--json` prints `{"added", "updated", "skipped", "errors"}`, and
`memos export --json` prints `{"path", "records"}`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import zipfile
from pathlib import Path

from api.server_process import MEMOS, start_server

NOTE = "Alice prefers green tea."


def world_of(client) -> list[tuple[str, str, str]]:
    items = client.get("/v1/memories", params={"tier": "world"}).json()["items"]
    return [(m["tier"], m["kind"], m["content"]) for m in items]


def memos(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MEMOS, *args], env=env, capture_output=True, text=True, timeout=600)


def test_an_offline_import_of_a_note_stores_its_world_fact(tmp_path: Path):
    source = tmp_path / "notes.jsonl"
    source.write_text(json.dumps({"id": "note-tea", "content": NOTE, "kind": "note"}) + "\n")
    data = tmp_path / "data"
    env = {**os.environ, "MEMOS_DATA_DIR": str(data), "MEMOS_AGENT": "importer"}
    dry = memos(env, "import", str(source), "--offline", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {"added": 1, "updated": 0, "skipped": 0, "errors": 0}
    out = memos(env, "import", str(source), "--offline", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"added": 1, "updated": 0, "skipped": 0, "errors": 0}

    server = start_server(data)
    try:
        with server.client("importer") as c:
            assert world_of(c) == [("world", "fact", NOTE)]
            (fact,) = c.get("/v1/memories", params={"tier": "world"}).json()["items"]
            assert fact["source_ids"] == ["note-tea"]
            (note,) = c.get("/v1/memories", params={"tier": "trace"}).json()["items"]
            assert note["id"] == "note-tea"  # the dry run wrote nothing: one note, not two
    finally:
        server.stop()


def test_an_online_import_of_a_note_stores_its_world_fact_once(server, tmp_path: Path):
    source = tmp_path / "notes.jsonl"
    source.write_text(json.dumps({"content": NOTE, "created_at": "2024-05-01T09:00:00Z"}) + "\n")
    env = server.env(MEMOS_AGENT="online_importer")
    out = memos(env, "import", str(source), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"added": 1, "updated": 0, "skipped": 0, "errors": 0}
    again = memos(env, "import", str(source), "--json")
    assert json.loads(again.stdout) == {"added": 0, "updated": 0, "skipped": 1, "errors": 0}
    with server.client("online_importer") as c:
        for _ in range(240):  # the job is done when the note is stored; its fact is written with it
            if world_of(c):
                break
            time.sleep(0.5)
        assert world_of(c) == [("world", "fact", NOTE)]
        assert len(c.get("/v1/memories", params={"tier": "trace"}).json()["items"]) == 1


def test_an_import_with_one_bad_row_is_refused_naming_it_and_writes_nothing(server, tmp_path: Path):
    source = tmp_path / "notes.jsonl"
    source.write_text(json.dumps({"content": NOTE}) + "\n" + json.dumps({"content": ""}) + "\n")
    out = memos(server.env(MEMOS_AGENT="bad_row_importer"), "import", str(source), "--json")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip() == "error: invalid_bundle: invalid import file: line 2: content: content is missing or empty"
    with server.client("bad_row_importer") as c:
        assert c.get("/v1/memories", params={"status": "all"}).json()["items"] == []


def test_export_then_import_with_the_cli_in_every_container(server, tmp_path: Path):
    env = server.env(MEMOS_AGENT="cli_exporter")
    with server.client("cli_exporter") as c:
        for text in ("Der Kaffee ist heiß ☕", "The kite flew over the harbour"):
            assert c.post("/v1/memories?wait=true", json={"content": text, "kind": "message",
                                                          "metadata": {"speaker": "Jörg"}}).status_code == 201
    bundle = tmp_path / "cube.memos.jsonl"
    out = memos(env, "export", "--format", "memos", "-o", str(bundle), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"path": str(bundle), "records": 2}
    assert not bundle.with_name(bundle.name + ".part").exists()

    zipped = tmp_path / "cube.memos.zip"
    vault_zip = tmp_path / "vault.zip"
    for fmt, target in (("memos", zipped), ("markdown", vault_zip)):
        out = memos(env, "export", "--format", fmt, "-o", str(target), "--json")
        assert json.loads(out.stdout) == {"path": str(target), "records": 2}, out.stderr
    vault = tmp_path / "vault"
    zipfile.ZipFile(vault_zip).extractall(vault)

    for agent, source in (("cli_into_jsonl", bundle), ("cli_into_zip", zipped), ("cli_into_vault", vault)):
        target_env = server.env(MEMOS_AGENT=agent)
        dry = memos(target_env, "import", str(source), "--dry-run", "--json")
        assert json.loads(dry.stdout) == {"added": 2, "updated": 0, "skipped": 0, "errors": 0}, dry.stderr
        with server.client(agent) as c:
            assert c.get("/v1/memories").json()["items"] == []
        done = memos(target_env, "import", str(source), "--json")
        assert json.loads(done.stdout) == {"added": 2, "updated": 0, "skipped": 0, "errors": 0}, done.stderr
        with server.client(agent) as c:
            assert sorted(m["content"] for m in c.get("/v1/memories").json()["items"]) == [
                "Der Kaffee ist heiß ☕", "The kite flew over the harbour"]
