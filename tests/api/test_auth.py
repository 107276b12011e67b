"""API keys: required once keys exist, stored only hashed, revocable, and X-Agent-Id is ignored."""

from __future__ import annotations

import httpx
import pytest

from pipeline.access import auth_required
from storage.api_keys import ApiKeys
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
