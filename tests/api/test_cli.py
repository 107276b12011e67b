"""The `memos` command line as a user runs it: real subprocesses against a real server."""

from __future__ import annotations

import json
import shutil
import subprocess

from api.server_process import MEMOS, start_server
from storage.lexical_index import LexicalReader
from storage.paths import DataPaths
from storage.vector_shard import VectorShard


def memos(server, *args: str, stdin: str | None = None, agent: str = "cli_user") -> subprocess.CompletedProcess:
    return subprocess.run([MEMOS, *args], env=server.env(MEMOS_AGENT=agent), input=stdin, capture_output=True,
                          text=True, timeout=300)


def test_add_search_get_ls_rm_round_trip(server):
    added = memos(server, "add", "The staging database lives on host db-7", "--tag", "infra", "--meta",
                  "source=runbook", "--wait", "--json")
    assert added.returncode == 0, added.stderr
    memory = json.loads(added.stdout)
    assert memory["status"] == "active" and memory["tags"] == ["infra"] and memory["metadata"] == {"source": "runbook"}

    found = json.loads(memos(server, "search", "where is the staging database", "-k", "3", "--json").stdout)
    assert found["results"][0]["id"] == memory["id"]

    got = json.loads(memos(server, "get", memory["id"], "--json").stdout)
    assert got["content"] == "The staging database lives on host db-7"

    listed = json.loads(memos(server, "ls", "--tag", "infra", "--json").stdout)
    assert [m["id"] for m in listed["items"]] == [memory["id"]]

    human = memos(server, "ls")
    assert memory["id"] in human.stdout and human.returncode == 0

    removed = json.loads(memos(server, "rm", memory["id"], "--json").stdout)
    assert removed == {"id": memory["id"], "deleted": True}
    assert memos(server, "get", memory["id"]).returncode == 1


def test_add_reads_stdin_and_job_shows_progress(server):
    out = json.loads(memos(server, "add", "-", "--json", stdin="from a pipe\n").stdout)
    assert out["status"] == "queued"
    job = subprocess.run([MEMOS, "job", out["job_id"], "--json"], env=server.env(MEMOS_AGENT="cli_user"),
                         capture_output=True, text=True, timeout=60)
    assert json.loads(job.stdout)["id"] == out["job_id"]


def test_errors_are_one_line_and_exit_non_zero(server):
    missing = memos(server, "get", "no-such-memory")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: not_found: memory no-such-memory does not exist"
    assert "Traceback" not in missing.stderr

    usage = memos(server, "search")
    assert usage.returncode == 2

    unreachable = subprocess.run([MEMOS, "ls"], env=server.env(MEMOS_URL="http://127.0.0.1:9"),
                                 capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 1 and unreachable.stderr.startswith("error: unreachable:")

    bad_agent = memos(server, "ls", agent="../evil")
    assert bad_agent.returncode == 1 and "invalid_agent" in bad_agent.stderr


def test_reindex_through_the_server_keeps_search_working(server):
    memos(server, "add", "Reindexing keeps the orchid watering schedule", "--wait", agent="reindexer")
    out = memos(server, "reindex", "--json", agent="reindexer")
    assert out.returncode == 0, out.stderr
    job = json.loads(out.stdout)
    assert job["status"] == "done" and job["done"] == job["total"] >= 1
    hits = json.loads(memos(server, "search", "orchid watering", "--json", agent="reindexer").stdout)["results"]
    assert "orchid" in hits[0]["content"]


def test_offline_reindex_rebuilds_lost_indexes_from_sqlite(tmp_path):
    data = tmp_path / "data"
    server = start_server(data)
    try:
        for text in ("the lighthouse keeper feeds seven cats", "ferry tickets are in the blue drawer"):
            assert memos(server, "add", text, "--wait", agent="offline").returncode == 0
    finally:
        server.stop()
    paths = DataPaths(data)
    shutil.rmtree(paths.lexical_dir("s0"))
    shutil.rmtree(paths.vectors_dir("s0"))

    out = subprocess.run([MEMOS, "reindex", "--offline", "--json"], env=server.env(), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    totals = json.loads(out.stdout)
    assert (totals["cubes"], totals["vectors"], totals["documents"]) == (1, 2, 2)
    hits = LexicalReader(paths.lexical_dir("s0")).search("lighthouse cats", ["agent-offline"], 5)
    assert len(hits) == 1
    assert VectorShard(paths.vectors_dir("s0"), 384, create=False).count("agent-offline") == 2
