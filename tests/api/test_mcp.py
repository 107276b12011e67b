"""MCP end to end through the `mcp` package's own client: over streamable HTTP against /mcp of a real
server, and over stdio against `memos mcp` run as a subprocess. The shared `server` runs without keys,
`auth_server` with them (tests/api/conftest.py)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from api.mcp_server.skill_tools import safe_tool_name
from api.server_process import MEMOS, ServerProcess

TOOLS = {
    "search_memory": {"query", "top_k", "cubes", "max_tokens"},
    "add_memory": {"content", "kind", "tags", "metadata", "episode"},
    "get_memory": {"id"},
    "memory_timeline": {"id", "before", "after"},
    "list_skills": set(),
    "get_skill": {"id"},
    "render_skill": {"id", "params"},
    "give_feedback": {"memory_id", "signal", "correction"},
    "open_episode": {"task"},
    "close_episode": {"id", "outcome"},
}
DEPLOYS = [("api", "v1.2"), ("web", "v3.0"), ("billing", "v0.9"), ("search", "v2.1"), ("auth", "v5.5")]


@asynccontextmanager
async def http_session(url: str, mode: str = "auto", agent: str | None = None, key: str | None = None,
                       **client_args: Any) -> AsyncIterator[Client]:
    headers = {"X-Agent-Id": agent} if agent else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode, **client_args) as c:
            yield c


def stdio_params(server: ServerProcess, agent: str = "default", key: str = "") -> StdioServerParameters:
    return StdioServerParameters(command=MEMOS, args=["mcp"], env=server.env(MEMOS_AGENT=agent, MEMOS_API_KEY=key))


async def call(c: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await c.call_tool(tool, arguments)
    assert not result.is_error, result.structured_content
    return result.structured_content


async def names(c: Client) -> set[str]:
    return {t.name for t in (await c.list_tools()).tools}


async def deploy_episode(c: Client, service: str, tag: str) -> dict[str, Any]:
    """One successful episode of two tool calls, recorded through MCP tools only."""
    episode = (await call(c, "open_episode", task=f"Deploy the {service} service with tag {tag}"))["id"]
    for tool in ("build_image", "rollout"):
        call_record = {"name": tool, "arguments": {"service": service, "tag": tag}, "status": "ok"}
        added = await call(c, "add_memory", content=f"called {tool}", kind="tool_call",
                           metadata={"tool": call_record}, episode=episode)
        assert added["tool"]["name"] == tool and added["episode"] == episode
    return await call(c, "close_episode", id=episode, outcome="success")


def test_skill_tool_names_are_safe_short_and_unique():
    assert safe_tool_name("deploy_service_tag_249ac3", []) == "deploy_service_tag_249ac3"
    assert safe_tool_name("déployer le/service", []) == "d_ployer_le_service"
    assert safe_tool_name("search_memory", TOOLS) == "search_memory_2"
    long = safe_tool_name("x" * 100, ["x" * 64])
    assert long == "x" * 62 + "_2" and len(long) == 64
    assert safe_tool_name("", []) == "skill"


def test_the_tool_list_names_every_tool_with_its_arguments_and_a_one_line_description(server):
    async def main() -> list[types.Tool]:
        async with http_session(server.url, agent="mcp_list") as c:
            return (await c.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(main())}
    assert set(tools) == set(TOOLS)  # no skills yet for this agent: only the fixed tools
    for name, arguments in TOOLS.items():
        schema = tools[name].input_schema
        assert schema["type"] == "object" and set(schema.get("properties", {})) == arguments, name
        assert tools[name].description and "\n" not in tools[name].description, name
    assert tools["search_memory"].input_schema["required"] == ["query"]
    assert tools["search_memory"].annotations.read_only_hint is True
    assert tools["add_memory"].annotations.read_only_hint is False


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_add_then_search_get_and_timeline_over_http_in_both_protocol_eras(server, mode):
    agent = f"mcp_rw_{mode}"

    async def main() -> None:
        async with http_session(server.url, mode, agent=agent) as c:
            assert c.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
            first = await call(c, "add_memory", content="Priya takes her coffee with oat milk", tags=["coffee"])
            assert (first["cube"], first["agent"], first["kind"], first["status"]) == (
                f"agent-{agent}", agent, "note", "active")
            second = await call(c, "add_memory", content="My standup is at 9:15", kind="message",
                                metadata={"speaker": "Priya"})
            found = await call(c, "search_memory", query="how does Priya drink her coffee", top_k=1)
            assert [h["id"] for h in found["results"]] == [first["id"]]
            assert found["results"][0]["tags"] == ["coffee"]
            assert (await call(c, "get_memory", id=second["id"]))["metadata"] == {"speaker": "Priya"}
            timeline = await call(c, "memory_timeline", id=second["id"], before=5, after=0)
            assert timeline["memory"] == second["id"] and timeline["items"][-1]["id"] == second["id"]

    asyncio.run(main())
    # The same memories through the HTTP API: one write path, one store.
    with server.client(agent) as http:
        assert http.get("/v1/memories").json()["items"][-1]["content"] == "Priya takes her coffee with oat milk"


def test_bad_arguments_and_unknown_ids_are_tool_errors_the_model_can_read(server):
    async def main() -> None:
        async with http_session(server.url, agent="mcp_errors") as c:
            bad = await c.call_tool("search_memory", {"query": "", "top_k": 500})
            assert bad.is_error and bad.structured_content["error"]["code"] == "invalid"
            assert "query" in bad.structured_content["error"]["message"]
            assert "top_k" in bad.structured_content["error"]["message"]
            extra = await c.call_tool("get_memory", {"id": "x", "cube": "agent-someone"})
            assert extra.is_error and extra.structured_content["error"]["code"] == "invalid"
            missing = await c.call_tool("get_memory", {"id": "no-such-memory"})
            assert missing.is_error and missing.structured_content["error"]["code"] == "not_found"
            assert missing.content[0].text == '{"error": {"code": "not_found", "message": ' \
                                              '"memory no-such-memory does not exist"}}'
            wrong = await c.call_tool("give_feedback", {"memory_id": "no-such-memory", "signal": "maybe"})
            assert wrong.is_error and "signal" in wrong.structured_content["error"]["message"]
            with pytest.raises(MCPError) as unknown:
                await c.call_tool("no_such_tool", {})
            assert unknown.value.error.code == types.INVALID_PARAMS

    asyncio.run(main())
    with server.client("mcp_errors") as http:
        assert http.get("/v1/memories").json()["items"] == []  # nothing refused was written


def test_a_skill_tool_appears_after_crystallization_and_every_client_is_told(server):
    agent = "mcp_skills"
    told_legacy = anyio.Event()

    async def legacy_messages(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            told_legacy.set()

    async def main() -> None:
        async with http_session(server.url, "legacy", agent=agent, message_handler=legacy_messages) as legacy, \
                http_session(server.url, agent=agent) as c:
            assert await names(legacy) == set(TOOLS)
            async with c.listen(tools_list_changed=True) as changes:
                assert await names(c) == set(TOOLS)
                for service, tag in DEPLOYS:
                    await deploy_episode(c, service, tag)
                with anyio.fail_after(20):
                    assert type(await anext(aiter(changes))).__name__ == "ToolsListChanged"
                    await told_legacy.wait()
            (skill,) = (await call(c, "list_skills"))["skills"]
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert set(tools) - set(TOOLS) == {skill["tool_name"]}
            assert await names(legacy) == set(tools)
            tool = tools[skill["tool_name"]]
            assert set(tool.input_schema["properties"]) == {"service", "tag"} and tool.title == skill["name"]
            used = await c.call_tool(skill["tool_name"], {"service": "cart", "tag": "v9.9"})
            assert not used.is_error
            assert used.structured_content["steps"] == [
                {"tool": "build_image", "arguments": {"service": "cart", "tag": "v9.9"}},
                {"tool": "rollout", "arguments": {"service": "cart", "tag": "v9.9"}},
            ]
            assert "1. Call `build_image`" in used.content[0].text
            bad = await c.call_tool(skill["tool_name"], {"service": 7})
            assert bad.is_error and bad.structured_content["error"]["code"] == "invalid_params"
            rendered = await call(c, "render_skill", id=skill["id"], params={"service": "cart", "tag": "v9.9"})
            assert rendered["steps"] == used.structured_content["steps"]
            assert (await call(c, "get_skill", id=skill["id"]))["runs"] == 5

    asyncio.run(main())


def test_stdio_bridge_lists_adds_searches_and_offers_new_skills(server):
    agent = "mcp_stdio"

    async def main() -> None:
        async with Client(stdio_params(server, agent)) as c, Client(stdio_params(server, agent), mode="legacy") as old:
            assert await names(c) == set(TOOLS) and await names(old) == set(TOOLS)
            added = await call(old, "add_memory", content="The staging database lives in eu-west-2")
            assert added["cube"] == f"agent-{agent}"
            found = await call(c, "search_memory", query="where is the staging database")
            assert found["results"][0]["id"] == added["id"]
            async with c.listen(tools_list_changed=True) as changes:
                for service, tag in DEPLOYS:
                    await deploy_episode(c, service, tag)
                with anyio.fail_after(20):
                    await anext(aiter(changes))
            (skill,) = (await call(c, "list_skills"))["skills"]
            assert skill["tool_name"] in await names(c)
            used = await call(c, skill["tool_name"], service="cart", tag="v1")
            assert [s["tool"] for s in used["steps"]] == ["build_image", "rollout"]

    asyncio.run(main())
    with server.client(agent) as http:  # what stdio wrote is the server's
        assert http.post("/v1/search", json={"query": "staging database"}).json()["results"][0]["cube"] == \
            f"agent-{agent}"


def test_mcp_needs_a_valid_key_when_auth_is_on_and_answers_in_the_api_error_shape(auth_server):
    url = f"{auth_server.server.url}/mcp"
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    for sent in ({}, {"Authorization": "Bearer mk_not_a_key"}, {"X-Agent-Id": "alice"}):
        r = httpx.post(url, json=initialize, headers={**headers, **sent}, timeout=30)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", sent
        assert r.headers["www-authenticate"] == "Bearer"


def test_a_session_opened_with_one_key_cannot_be_used_with_another(auth_server):
    url = f"{auth_server.server.url}/mcp"
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
    alice = {**headers, "Authorization": f"Bearer {auth_server.keys['alice']}"}
    opened = httpx.post(url, json=initialize, headers=alice, timeout=30)
    assert opened.status_code == 200
    session = {"mcp-session-id": opened.headers["mcp-session-id"]}
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    bob = {**headers, **session, "Authorization": f"Bearer {auth_server.keys['bob']}"}
    assert httpx.post(url, json=listing, headers=bob, timeout=30).status_code == 404
    httpx.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers={**alice, **session})
    assert httpx.post(url, json=listing, headers={**alice, **session}, timeout=30).status_code == 200


def contents(found: dict) -> list[str]:
    return [hit["content"] for hit in found["results"]]


def test_an_mcp_caller_sees_exactly_what_its_key_may_see(auth_server):
    url, keys = auth_server.server.url, auth_server.keys
    secret = "Alice's locker code is 4417"

    async def main() -> None:
        async with http_session(url, key=keys["alice"]) as alice:
            written = await call(alice, "add_memory", content=secret)
            assert written["cube"] == "agent-alice"
        async with http_session(url, key=keys["bob"]) as bob:
            assert secret not in contents(await call(bob, "search_memory", query="locker code"))
            denied = await bob.call_tool("get_memory", {"id": written["id"]})
            assert denied.is_error and denied.structured_content["error"]["code"] == "not_found"
            foreign = await bob.call_tool("search_memory", {"query": "locker code", "cubes": ["agent-alice"]})
            assert foreign.is_error and foreign.structured_content["error"]["code"] == "not_found"
        # stdio with MEMOS_API_KEY: the same rules, through the same server.
        async with Client(stdio_params(auth_server.server, key=keys["alice"])) as alice_stdio:
            assert contents(await call(alice_stdio, "search_memory", query="locker code"))[0] == secret
        async with Client(stdio_params(auth_server.server, key=keys["bob"])) as bob_stdio:
            assert secret not in contents(await call(bob_stdio, "search_memory", query="locker code"))

    asyncio.run(main())


def test_memos_mcp_with_a_bad_key_exits_1_with_one_line(auth_server):
    done = subprocess.run([MEMOS, "mcp"], env=auth_server.server.env(MEMOS_API_KEY="mk_wrong"), input="",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: mcp: ") and "Traceback" not in done.stderr


def test_a_page_of_another_site_cannot_reach_mcp_on_a_loopback_server(server):
    """DNS rebinding: a browser page whose name resolves to 127.0.0.1 sends its own Host and Origin."""
    headers = {"Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    evil_host = httpx.post(f"{server.url}/mcp", json=body, headers={**headers, "Host": "evil.example"}, timeout=30)
    assert evil_host.status_code == 421
    evil_origin = httpx.post(f"{server.url}/mcp", json=body, timeout=30,
                             headers={**headers, "Origin": "http://evil.example"})
    assert evil_origin.status_code == 403
