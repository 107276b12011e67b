"""`memos mcp`: an MCP server on stdin/stdout that forwards every request to the running server's /mcp.

A stdio client (a desktop assistant, an IDE) starts this process; it holds one streamable-HTTP MCP
session with the server, authenticated with MEMOS_API_KEY (or, while auth is off, named by MEMOS_AGENT),
and relays tools/list, tools/call and tool-list changes. No tool logic lives here, so a stdio client
sees exactly what an HTTP client with the same key sees, and no Ray or model is started in this process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
from mcp.server import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from api.mcp_server.server_info import INSTRUCTIONS, MemosMcpServer

log = logging.getLogger(__name__)

RELISTEN_S = 1.0  # after the server's change stream drops, listen again this much later


def upstream_headers(api_key: str, agent: str) -> dict[str, str]:
    """The key when there is one; the agent name counts only while the server runs with auth off."""
    headers = {"X-Agent-Id": agent}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


@asynccontextmanager
async def connect(url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    """An MCP session with the server's /mcp (timeouts as the SDK's: tool calls may wait on the pipeline)."""
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
    async with http, Client(streamable_http_client(f"{url.rstrip('/')}/mcp", http_client=http)) as upstream:
        yield upstream


class StdioBridge:
    def __init__(self, upstream: Client) -> None:
        self._upstream = upstream
        self._bus = InMemorySubscriptionBus()
        self._listen = ListenHandler(self._bus)
        self._legacy: ServerSession | None = None  # a handshake-era client's session, to notify
        self.server = MemosMcpServer(
            "memos", version=upstream.server_info.version if upstream.server_info else "", title="MemOS",
            instructions=upstream.instructions or INSTRUCTIONS,
            on_list_tools=self._list_tools, on_call_tool=self._call_tool, on_subscriptions_listen=self._listen,
        )

    def _remember(self, ctx: ServerRequestContext[Any, Any]) -> None:
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self._legacy = ctx.session

    async def _list_tools(self, ctx: ServerRequestContext[Any, Any],
                          params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        self._remember(ctx)
        return await self._upstream.list_tools(cursor=params.cursor if params else None, cache_mode="bypass")

    async def _call_tool(self, ctx: ServerRequestContext[Any, Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        self._remember(ctx)
        result = await self._upstream.call_tool(params.name, params.arguments or {})
        if not isinstance(result, types.CallToolResult):
            raise TypeError(f"the server answered tools/call with {type(result).__name__}")
        return result

    async def relay_changes(self) -> None:
        """Until cancelled: each tool-list change the server announces, told to the stdio client."""
        while True:
            try:
                async with self._upstream.listen(tools_list_changed=True) as changes:
                    async for _ in changes:
                        await self._bus.publish(ToolsListChanged())
                        if self._legacy is not None:
                            await self._legacy.send_tool_list_changed()
            except ListenNotSupportedError:
                log.warning("the server does not announce tool changes; the tool list is read on each request")
                return
            except SubscriptionLost:
                log.info("the server's change stream dropped; listening again")
            except Exception as exc:  # the server restarting, say: tool calls report it; keep listening
                log.warning("listening for tool changes failed (%s: %s); trying again", type(exc).__name__, exc)
            await anyio.sleep(RELISTEN_S)

    async def serve(self) -> None:
        """Serve the stdio client until it closes stdin."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self.relay_changes)
            async with stdio_server() as (read, write):
                await self.server.run(read, write, self.server.create_initialization_options())
            tasks.cancel_scope.cancel()


async def run_bridge(url: str, api_key: str, agent: str) -> None:
    async with connect(url, upstream_headers(api_key, agent)) as upstream:
        await StdioBridge(upstream).serve()


def first_cause(exc: BaseException) -> BaseException:
    """The innermost error of an exception group (anyio wraps a failed connection in one or two)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc

