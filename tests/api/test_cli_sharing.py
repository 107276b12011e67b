"""Cross-agent sharing from the command line, the way two users would do it."""

from __future__ import annotations

import json
import subprocess

import pyarrow.parquet as pq

from api.server_process import MEMOS
from tests.api.conftest import AuthServer


def run(auth: AuthServer, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = auth.server.env(MEMOS_API_KEY=key or "")
    return subprocess.run([MEMOS, *args], env=env, capture_output=True, text=True, timeout=300)


def ok(result: subprocess.CompletedProcess) -> dict | list:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_keys_cubes_grant_mount_share_revoke_audit_export(auth_server: AuthServer, tmp_path):
    erin = ok(run(auth_server, "keys", "create", "--agent", "erin", "--json"))
    frank = ok(run(auth_server, "keys", "create", "--agent", "frank", "--json"))
    assert set(erin) >= {"agent", "key"} and erin["agent"] == "erin" and erin["key"].startswith("mk_")
    listed = ok(run(auth_server, "keys", "ls", "--json"))
    assert {"erin", "frank"} <= {k["agent"] for k in listed} and all("key" not in k for k in listed)

    cube = ok(run(auth_server, "cubes", "create", "erin's runbooks", "--json", key=erin["key"]))["id"]
    note = ok(run(auth_server, "add", "Rotate the TLS certs on the first Monday", "--cube", cube, "--wait",
                  "--json", key=erin["key"]))
    assert note["cube"] == cube

    denied = run(auth_server, "search", "TLS certs", "--cube", cube, key=frank["key"])
    assert denied.returncode == 1 and denied.stderr.startswith("error: not_found:")

    assert ok(run(auth_server, "grant", cube, "frank", "read", "--json", key=erin["key"]))["role"] == "read"
    ok(run(auth_server, "mount", cube, "--json", key=frank["key"]))
    hits = ok(run(auth_server, "search", "when do we rotate TLS certs", "--json", key=frank["key"]))["results"]
    assert [(h["id"], h["cube"]) for h in hits[:1]] == [(note["id"], cube)]

    write = run(auth_server, "add", "frank was here", "--cube", cube, key=frank["key"])
    assert write.returncode == 1 and write.stderr.startswith("error: forbidden:")

    copy = ok(run(auth_server, "share", note["id"], "--to", "agent-frank", "--from", cube, "--json", key=frank["key"]))
    assert copy["cube"] == "agent-frank" and copy["source_ids"] == [note["id"]]
    assert copy["metadata"]["shared_from"] == {"cube": cube, "id": note["id"]}

    ok(run(auth_server, "revoke", cube, "frank", "--json", key=erin["key"]))
    gone = run(auth_server, "search", "TLS", "--cube", cube, key=frank["key"])
    assert gone.returncode == 1 and "not_found" in gone.stderr
    mine = ok(run(auth_server, "search", "rotate TLS certs", "--json", key=frank["key"]))["results"]
    assert [h["id"] for h in mine][:1] == [copy["id"]]  # the shared copy stays with frank

    events = ok(run(auth_server, "audit", "--cube", cube, "--json", key=erin["key"]))["events"]
    assert [e["action"] for e in events][:4] == ["member.revoke", "memory.share", "cube.mount", "member.grant"]

    out = tmp_path / "runbooks.parquet"
    ok(run(auth_server, "export", cube, "--out", str(out), "--format", "parquet", "--json", key=erin["key"]))
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == [note["id"]]
    assert table.column("content").to_pylist() == ["Rotate the TLS certs on the first Monday"]
