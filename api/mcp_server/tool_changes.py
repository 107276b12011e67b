"""Telling connected MCP clients that an agent's tool list changed (a skill appeared, changed or retired).

Skills are written by the pipeline, so the front door learns of them by looking: for each agent with a
client listening (a 2026-era `subscriptions/listen` stream, or a handshake-era session with its
standalone stream), the skill tools are listed again every `poll_s` seconds, and at once after a tool
call that can change them (close_episode, give_feedback). A difference from what the agent's clients
were last shown is announced: on the agent's own listen streams (each agent has its own bus, so one
agent never learns when another's skills change) and on each of its handshake-era sessions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from mcp.server import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged

from pipeline.access import Caller

log = logging.getLogger(__name__)

# What a client was shown: each tool's wire form, in order.
Listing = list[dict[str, Any]]
ListTools = Callable[[Caller], Awaitable[list[types.Tool]]]


def listing(tools: list[types.Tool]) -> Listing:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


@dataclass
class _Agent:
    caller: Caller
    listen: ListenHandler
    bus: InMemorySubscriptionBus
    streams: int = 0  # open listen streams
    sessions: dict[str, tuple[ServerSession, float]] = field(default_factory=dict)  # id -> (session, last seen)
    shown: Listing | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)

    @property
    def watched(self) -> bool:
        return self.streams > 0 or bool(self.sessions)


class ToolChanges:
    def __init__(self, list_tools: ListTools, poll_s: float, session_idle_s: float) -> None:
        self._list_tools, self._poll_s, self._idle_s = list_tools, poll_s, session_idle_s
        self._agents: dict[str, _Agent] = {}

    def _agent(self, caller: Caller) -> _Agent:
        found = self._agents.get(caller.agent)
        if found is None:
            bus = InMemorySubscriptionBus()
            found = self._agents[caller.agent] = _Agent(caller, ListenHandler(bus), bus)
        return found

    def listed(self, caller: Caller, tools: list[types.Tool], ctx: ServerRequestContext[Any, Any]) -> None:
        """The caller was just given this tool list (and, on a handshake-era session, keeps it open).

        Only a first listing sets what the agent's clients were shown: were every listing to, a client
        listing after a change but before the check would keep the agent's other clients from hearing of it.
        """
        agent = self._agent(caller)
        if agent.shown is None:
            agent.shown = listing(tools)
        self.seen(caller, ctx)

    def seen(self, caller: Caller, ctx: ServerRequestContext[Any, Any]) -> None:
        """A request on a handshake-era session: remember the session, to tell it of changes later."""
        session_id = ctx.request.headers.get("mcp-session-id") if ctx.request is not None else None
        if session_id and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self._agent(caller).sessions[session_id] = (ctx.session, time.monotonic())

    async def listen(self, caller: Caller, ctx: ServerRequestContext[Any, Any],
                     params: types.SubscriptionsListenRequestParams) -> types.SubscriptionsListenResult:
        """One `subscriptions/listen` stream of this caller, open for as long as the client keeps it."""
        agent = self._agent(caller)
        if agent.shown is None:
            agent.shown = listing(await self._list_tools(caller))
        async with self._streaming(agent):
            return await agent.listen(ctx, params)

    @asynccontextmanager
    async def _streaming(self, agent: _Agent):
        agent.streams += 1
        try:
            yield
        finally:
            agent.streams -= 1

    async def check(self, caller: Caller) -> None:
        """Compare the caller's tools with what its clients were shown; announce a difference."""
        agent = self._agents.get(caller.agent)
        if agent is None or not agent.watched:
            return
        async with agent.lock:
            now = listing(await self._list_tools(agent.caller))
            if agent.shown is None:
                agent.shown = now
                return
            if now == agent.shown:
                return
            agent.shown = now
        await agent.bus.publish(ToolsListChanged())
        for session_id, (session, _) in list(agent.sessions.items()):
            try:
                await session.send_tool_list_changed()
            except Exception:  # a notification is advice; a session that cannot take one is forgotten
                log.debug("dropping MCP session %s: it did not take a notification", session_id, exc_info=True)
                agent.sessions.pop(session_id, None)

    def _forget_idle(self) -> None:
        cutoff = time.monotonic() - self._idle_s
        for agent in self._agents.values():
            for session_id, (_, seen) in list(agent.sessions.items()):
                if seen < cutoff:
                    del agent.sessions[session_id]

    async def run(self) -> None:
        """Until cancelled: every poll_s, check each agent that has a client listening."""
        while True:
            await anyio.sleep(self._poll_s)
            self._forget_idle()
            for agent in [a for a in self._agents.values() if a.watched]:
                try:
                    await self.check(agent.caller)
                except Exception:  # one agent's failing listing must not stop the others' notifications
                    log.exception("checking the MCP tools of %s failed", agent.caller.agent)

