"""/mcp in the same app: MCP over streamable HTTP, for the agent the request's key (or X-Agent-Id) names.

`McpMount` is the ASGI endpoint: it decides who is calling with the routes' own dependency (api/deps.py
`caller`: the key, or X-Agent-Id while auth is off), answers 401/503 itself in the API's error shape, and
hands the request on to the MCP session manager with the caller attached. The tool handlers then call
the same services with that caller, so an MCP client sees exactly what its key may see. The app's
lifespan runs the session manager (`running`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import DEFAULT_SESSION_IDLE_TIMEOUT, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api.deps import caller, serving
from api.errors import memos_error_response
from api.mcp_server.server_info import INSTRUCTIONS, MemosMcpServer
from api.mcp_server.skill_tools import call_skill, skill_tools
from api.mcp_server.tool_changes import ToolChanges
from api.mcp_server.tools import FIXED_TOOLS, call_fixed
from pipeline.access import Caller, is_loopback
from pipeline.errors import MemosError, Unavailable
from service.runtime import Runtime

CALLER = "memos.caller"  # where the endpoint leaves the authenticated caller in the request's scope
SKILL_POLL_S = 2.0  # how often skill tools are listed again for agents with a client listening


def caller_of(ctx: ServerRequestContext[Any, Any]) -> Caller:
    caller = ctx.request.scope.get(CALLER) if ctx.request is not None else None
    if not isinstance(caller, Caller):  # only reachable if the manager were served without McpMount in front
        raise MCPError(types.INTERNAL_ERROR, "no authenticated caller on this request")
    return caller


def rebinding_protection(host: str) -> TransportSecuritySettings | None:
    """On a loopback server, refuse Host and Origin headers of other sites (a DNS-rebinding page could
    otherwise reach a keyless server from the user's browser); beyond loopback a key is required anyway."""
    if not is_loopback(host):
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class McpMount:
    def __init__(self, runtime: Runtime, host: str, version: str) -> None:
        self._rt = runtime
        self.changes = ToolChanges(self._skill_definitions, SKILL_POLL_S, DEFAULT_SESSION_IDLE_TIMEOUT)
        self.server = MemosMcpServer(
            "memos", version=version, title="MemOS", instructions=INSTRUCTIONS, lifespan=self._lifespan,
            on_list_tools=self._list_tools, on_call_tool=self._call_tool, on_subscriptions_listen=self._listen,
        )
        self._manager = StreamableHTTPSessionManager(
            app=self.server, security_settings=rebinding_protection(host),
            session_idle_timeout=DEFAULT_SESSION_IDLE_TIMEOUT,
        )

    def running(self) -> AbstractAsyncContextManager[None]:
        """The session manager, for the app's lifespan; it can run once per app."""
        return self._manager.run()

    # --- the ASGI endpoint ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # MCP has no WebSocket transport here
            await send({"type": "websocket.close", "code": 1003})
            return
        rt = serving(self._rt)
        try:
            if rt is None:
                raise Unavailable("the server is starting or stopping")
            who = await self._authenticate(rt, scope)
        except MemosError as exc:
            await memos_error_response(exc)(scope, receive, send)
            return
        scope[CALLER] = who
        # The manager binds a session to the principal (agent and key) that opened it: a request holding
        # the session id with another key is answered as if the session did not exist.
        scope["user"] = AuthenticatedUser(AccessToken(token="", client_id=who.agent, scopes=[], subject=who.key_id))
        await self._manager.handle_request(scope, receive, send)

    @staticmethod
    async def _authenticate(rt: Runtime, scope: Scope) -> Caller:
        """The route dependency itself, called on this request: one way to decide who calls."""
        return await caller(Request(scope), rt)

    # --- MCP handlers --------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, _: Server[Any]) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self.changes.run)
            try:
                yield {}
            finally:
                tasks.cancel_scope.cancel()

    async def _skill_definitions(self, caller: Caller) -> list[types.Tool]:
        return [t.definition for t in (await skill_tools(self._rt, caller)).values()]

    async def _list_tools(self, ctx: ServerRequestContext[Any, Any],
                          _: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        caller = caller_of(ctx)
        skills = await self._skill_definitions(caller)
        self.changes.listed(caller, skills, ctx)
        return types.ListToolsResult(tools=[t.definition() for t in FIXED_TOOLS.values()] + skills)

    async def _call_tool(self, ctx: ServerRequestContext[Any, Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = caller_of(ctx)
        self.changes.seen(caller, ctx)
        arguments = params.arguments or {}
        fixed = FIXED_TOOLS.get(params.name)
        if fixed is not None:
            result = await call_fixed(fixed, self._rt, caller, arguments)
            if fixed.may_change_skills and not result.is_error:
                await self.changes.check(caller)
            return result
        skill = (await skill_tools(self._rt, caller)).get(params.name)
        if skill is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {params.name[:80]!r}; tools/list names them")
        return await call_skill(skill, self._rt, caller, arguments)

    async def _listen(self, ctx: ServerRequestContext[Any, Any],
                      params: types.SubscriptionsListenRequestParams) -> types.SubscriptionsListenResult:
        return await self.changes.listen(caller_of(ctx), ctx, params)
