"""API keys: required once keys exist, stored only hashed, revocable, and X-Agent-Id is ignored."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from api.server_process import MEMOS, ServerProcess, start_server
from pipeline.access import auth_required
from storage.api_keys import ApiKeys
from storage.audit_log import AuditLog
from storage.paths import DataPaths
from tests.api.conftest import AuthServer


def test_auth_turns_on_with_keys_or_a_non_loopback_bind():
    assert auth_required("127.0.0.1", keys_exist=False) is False
    assert auth_required("localhost", keys_exist=False) is False
    assert auth_required("::1", keys_exist=False) is False
    assert auth_required("127.0.0.1", keys_exist=True) is True
    assert auth_required("0.0.0.0", keys_exist=False) is True
    assert auth_required("192.168.1.5", keys_exist=False) is True
    assert auth_required("my-host.example", keys_exist=False) is True


def test_requests_without_a_valid_key_are_401(auth_server: AuthServer):
    url = auth_server.server.url
    for headers in ({}, {"X-Agent-Id": "alice"}, {"Authorization": "Bearer nope"},
                    {"Authorization": "Basic YWxpY2U6eA=="}, {"Authorization": "Bearer mk_aaaaaaaaaaaa_" + "x" * 43}):
        r = httpx.get(f"{url}/v1/memories", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", headers
        assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{url}/v1/health").json()["status"] == "ok"  # health needs no key


def test_a_key_acts_as_its_agent_whatever_the_header_says(auth_server: AuthServer):
    with auth_server.as_("bob") as bob:
        r = bob.post("/v1/memories?wait=true", json={"content": "bob's own note"}, headers={"X-Agent-Id": "alice"})
        assert r.json()["cube"] == "agent-bob" and r.json()["agent"] == "bob"


def test_keys_are_stored_hashed_and_revocation_is_immediate(auth_server: AuthServer, tmp_path):
    registry = auth_server.server.data_dir / "registry.db"
    store = ApiKeys(registry)
    record, key = store.create("eve", admin=False)
    secret = key.rsplit("_", 1)[1]
    raw = b"".join(p.read_bytes() for p in registry.parent.glob("registry.db*"))
    assert secret.encode() not in raw and key.encode() not in raw
    with httpx.Client(base_url=auth_server.server.url, headers={"Authorization": f"Bearer {key}"}) as eve:
        assert eve.get("/v1/memories").status_code == 200
        store.revoke(record.id)
        r = eve.get("/v1/memories")
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    store.close()


def test_server_wide_operations_need_an_admin_key(auth_server: AuthServer):
    with auth_server.as_("alice") as alice:
        r = alice.post("/v1/reindex")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    with auth_server.as_("ops") as ops:
        assert ops.post("/v1/reindex").status_code == 202


@pytest.mark.parametrize("key", ["mk_", "mk_short_secret", "a" * 5000])
def test_malformed_keys_are_401_not_500(auth_server: AuthServer, key):
    r = httpx.get(f"{auth_server.server.url}/v1/cubes", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401


def memos(server: ServerProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MEMOS, *args], env=server.env(), capture_output=True, text=True, timeout=120)


def test_revoking_the_last_key_leaves_auth_on_until_it_is_turned_off(tmp_path):
    """Issue 12: revoking the last key used to open a loopback server to anyone naming an agent."""
    data = tmp_path / "data"
    paths = DataPaths(data)
    paths.ensure()
    store = ApiKeys(paths.registry_db)
    record, key = store.create("solo", admin=False)
    store.close()
    server = start_server(data)
    try:
        url = server.url
        assert httpx.get(f"{url}/v1/memories", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        refused = memos(server, "auth", "off")
        assert refused.returncode == 1 and refused.stderr.startswith("error: conflict: 1 API key(s) still active")
        assert len(refused.stderr.strip().splitlines()) == 1

        assert memos(server, "keys", "revoke", record.id).returncode == 0
        for headers in ({}, {"X-Agent-Id": "solo"}, {"Authorization": f"Bearer {key}"}):
            r = httpx.get(f"{url}/v1/memories", headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", headers
        status = json.loads(memos(server, "auth", "status", "--json").stdout)
        assert status == {"auth": "on", "reason": "API keys have been created", "active_keys": 0}

        off = memos(server, "auth", "off")
        assert off.returncode == 0, off.stderr
        r = httpx.get(f"{url}/v1/memories", headers={"X-Agent-Id": "solo"})
        assert r.status_code == 200 and r.json()["items"] == []
        assert json.loads(memos(server, "auth", "status", "--json").stdout)["auth"] == "off"
        log = AuditLog(paths.registry_db)
        assert [e.action for e in log.events(cubes=None, agent=None, before=None, limit=2)] == ["auth.off", "key.revoke"]
        log.close()
    finally:
        server.stop()
