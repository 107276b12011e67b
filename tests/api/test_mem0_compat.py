"""mem0 compatibility end to end: mem0's own `MemoryClient` (mem0ai, unchanged but for its host) against
/mem0 of a real server, and mem0's self-hosted server routes with httpx. No test reaches beyond loopback
(`loopback_only`); mem0's telemetry is off and its config dir is a temp dir."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator

import httpx
import pytest

# mem0 reads these when it is imported: telemetry off, and its config file away from the home directory.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ["MEM0_DIR"] = tempfile.mkdtemp(prefix="mem0-config-")

from mem0 import MemoryClient  # noqa: E402
from mem0.exceptions import MemoryNotFoundError, ValidationError  # noqa: E402

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection or name lookup beyond loopback (telemetry, a default host) fails the test."""
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            assert address[0] in LOOPBACK, f"a connection to {address} left loopback"  # type: ignore[index]
        return connect(sock, address)

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        assert host in LOOPBACK or host is None, f"a name lookup of {host!r} left loopback"
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield


def mem0_client(server, key: str) -> MemoryClient:
    return MemoryClient(api_key=key, host=f"{server.url}/mem0")


def test_memory_client_add_search_get_all_update_history_delete_delete_all(auth_server):
    client = mem0_client(auth_server.server, auth_server.keys["carol"])
    added = client.add([{"role": "user", "content": "I live in Austin and I keep bees."},
                        {"role": "assistant", "content": "Noted: Austin, and bees."}],
                       user_id="u_alice", agent_id="helper", metadata={"source": "onboarding"})
    assert added["status"] == "SUCCEEDED" and [r["event"] for r in added["results"]] == ["ADD", "ADD"]
    first, second = (r["id"] for r in added["results"])
    client.add("My sister Maya lives in Lisbon.", user_id="u_bob")

    hits = client.search("where does the user live", filters={"user_id": "u_alice"})["results"]
    assert hits[0]["id"] == first and {h["user_id"] for h in hits} == {"u_alice"}
    assert 0 < hits[0]["score"] <= 1 and hits[0]["memory"] == "I live in Austin and I keep bees."
    assert [h["id"] for h in client.search("where does maya live", filters={"user_id": "u_bob"})["results"]] != []
    both = client.search("bees", filters={"AND": [{"user_id": "u_alice"}, {"agent_id": "helper"}]})["results"]
    assert {h["id"] for h in both} <= {first, second}

    listed = client.get_all(filters={"user_id": "u_alice"})
    assert listed["count"] == 2 and listed["next"] is None and {m["id"] for m in listed["results"]} == {first, second}
    memory = client.get(first)
    assert {k: memory[k] for k in ("id", "memory", "user_id", "agent_id", "run_id", "metadata")} == {
        "id": first, "memory": "I live in Austin and I keep bees.", "user_id": "u_alice", "agent_id": "helper",
        "run_id": None, "metadata": {"source": "onboarding"}}

    updated = client.update(first, text="I live in Denver now and I keep bees.")
    assert updated["memory"] == "I live in Denver now and I keep bees." and updated["user_id"] == "u_alice"
    history = client.history(first)
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "I live in Austin and I keep bees."),
        ("UPDATE", "I live in Austin and I keep bees.", "I live in Denver now and I keep bees.")]

    assert client.delete(second) == {"message": "Memory deleted successfully!"}
    with pytest.raises(MemoryNotFoundError):
        client.get(second)
    assert client.delete_all(user_id="u_alice")["deleted"] == 1
    assert client.get_all(filters={"user_id": "u_alice"})["results"] == []
    assert client.get_all(filters={"user_id": "u_bob"})["count"] == 1  # another user's memories stay


def test_a_token_key_sees_only_its_own_agents_memories(auth_server):
    alice = mem0_client(auth_server.server, auth_server.keys["alice"])
    bob = mem0_client(auth_server.server, auth_server.keys["bob"])
    (written,) = alice.add("My bank PIN is 0451", user_id="shared_user")["results"]
    assert bob.search("bank PIN", filters={"user_id": "shared_user"})["results"] == []
    assert bob.get_all(filters={"user_id": "shared_user"})["results"] == []
    with pytest.raises(MemoryNotFoundError):
        bob.get(written["id"])
    with pytest.raises(MemoryNotFoundError):
        bob.delete(written["id"])
    assert alice.get(written["id"])["memory"] == "My bank PIN is 0451"
    with pytest.raises(ValueError, match="401"):
        MemoryClient(api_key="mk_not_a_key", host=f"{auth_server.server.url}/mem0")
    with auth_server.as_("alice") as http:  # mem0's writes are alice's memories, in her cube
        (stored,) = http.get("/v1/memories", params={"tag": "mem0.user:shared_user"}).json()["items"]
        assert (stored["id"], stored["cube"]) == (written["id"], "agent-alice")


def test_mem0_refusals_are_clear_and_write_nothing(auth_server):
    client = mem0_client(auth_server.server, auth_server.keys["dave"])
    with pytest.raises(ValidationError, match="at least one of user_id"):
        client.add("no one to file this under")
    with pytest.raises(ValidationError, match="not supported"):
        client.search("x", filters={"user_id": "u1", "categories": {"in": ["a"]}})
    with pytest.raises(ValidationError, match="without whitespace"):
        client.add("x", user_id="two words")
    with pytest.raises(ValidationError, match="at least one filter"):
        client.delete_all()
    with auth_server.as_("dave") as http:
        assert http.get("/v1/memories").json()["items"] == []


def test_memory_client_works_unchanged_on_a_keyless_loopback_server(server):
    client = mem0_client(server, "any-token")  # auth is off: the caller is `default`, as for any keyless client
    (added,) = client.add("Quentin prefers window seats", user_id="u_keyless_quentin", infer=True)["results"]
    assert client.search("seat preference", filters={"user_id": "u_keyless_quentin"})["results"][0]["id"] == added["id"]
    assert client.delete_all(user_id="u_keyless_quentin")["deleted"] == 1


@pytest.fixture
def mem0_server(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/mem0", headers={"X-Agent-Id": "mem0_selfhosted"}, timeout=60) as c:
        yield c


def test_self_hosted_routes_in_mem0s_shapes(mem0_server, server):
    c = mem0_server
    created = c.post("/memories", json={"messages": [
        {"role": "user", "content": "I live in Porto."}, {"role": "assistant", "content": "Porto, got it."}],
        "user_id": "sh_rui", "run_id": "chat-1", "metadata": {"channel": "web"}, "infer": True,
        "prompt": "ignored"})
    assert created.status_code == 200, created.text
    results = created.json()["results"]
    assert [(r["memory"], r["event"]) for r in results] == [("I live in Porto.", "ADD"), ("Porto, got it.", "ADD")]
    ids = [r["id"] for r in results]

    listed = c.get("/memories", params={"user_id": "sh_rui"}).json()["results"]
    assert {m["id"] for m in listed} == set(ids) and {m["run_id"] for m in listed} == {"chat-1"}
    one = c.get(f"/memories/{ids[0]}").json()
    assert (one["memory"], one["user_id"], one["metadata"]) == ("I live in Porto.", "sh_rui", {"channel": "web"})
    found = c.post("/search", json={"query": "which city", "filters": {"run_id": "chat-1"}}).json()["results"]
    assert {h["id"] for h in found} == set(ids)
    deprecated_form = c.post("/search", json={"query": "which city", "user_id": "sh_rui", "top_k": 1}).json()
    assert len(deprecated_form["results"]) == 1

    assert c.put(f"/memories/{ids[1]}", json={"text": "Porto, noted."}).json() == {
        "message": "Memory updated successfully!"}
    assert [h["new_memory"] for h in c.get(f"/memories/{ids[1]}/history").json()] == ["Porto, got it.", "Porto, noted."]
    assert c.delete(f"/memories/{ids[1]}").json() == {"message": "Memory deleted successfully"}
    assert c.get(f"/memories/{ids[1]}").status_code == 404

    # The run is an episode of the caller's cube; the user's turn is said by the user, so the
    # rule-based extractor (no LLM) files a fact about sh_rui.
    with server.client("mem0_selfhosted") as http:
        episode = http.get("/v1/episodes/mem0-run-chat-1").json()
        assert (episode["task"], episode["traces"]) == ("mem0 run chat-1", [ids[0]])
        facts = [m["content"] for m in http.get("/v1/memories", params={"tier": "world"}).json()["items"]]
        assert "sh_rui lives in Porto." in facts

    assert c.delete("/memories", params={"user_id": "sh_rui"}).json() == {"message": "All relevant memories deleted"}
    assert c.get("/memories", params={"user_id": "sh_rui"}).json()["results"] == []
    c.post("/memories", json={"messages": [{"role": "user", "content": "temp"}], "agent_id": "sh_bot"})
    assert c.post("/reset").json() == {"message": "All memories reset"}
    assert c.get("/memories", params={"agent_id": "sh_bot"}).json()["results"] == []


def test_self_hosted_refusals_use_the_api_error_shape(mem0_server):
    c = mem0_server
    no_id = c.post("/memories", json={"messages": [{"role": "user", "content": "x"}]})
    assert no_id.status_code == 422 and no_id.json()["error"]["code"] == "invalid"
    assert c.post("/memories", json={"user_id": "u"}).status_code == 422  # no messages
    assert c.delete("/memories").status_code == 422
    assert c.post("/search", json={"query": "x"}).json()["error"]["code"] == "invalid"  # no entity
    assert c.post("/search", json={"query": "x", "filters": {"NOT": {"user_id": "u"}}}).status_code == 422
    assert c.get("/memories/nope").json() == {"error": {"code": "not_found", "message": "memory nope does not exist"}}
    assert c.get("/memories", params={"user_id": "sh_nobody"}).json() == {"results": []}


def test_an_x_api_key_header_is_read_as_the_bearer_key(auth_server):
    url = f"{auth_server.server.url}/mem0"
    body = {"messages": [{"role": "user", "content": "Keys work here"}], "user_id": "xk_user"}
    assert httpx.post(f"{url}/memories", json=body, timeout=60).status_code == 401
    ok = httpx.post(f"{url}/memories", json=body, headers={"X-API-Key": auth_server.keys["bob"]}, timeout=60)
    assert ok.status_code == 200
    listed = httpx.get(f"{url}/memories", params={"user_id": "xk_user"}, timeout=60,
                       headers={"Authorization": f"Token {auth_server.keys['bob']}"}).json()["results"]
    assert [m["memory"] for m in listed] == ["Keys work here"]
