"""What each mem0 operation is in MemOS: the service calls behind both the self-hosted and platform routes.

Who calls decides everything access-related: writes go to the caller's own cube, reads look where the
caller may read (search: own cube and mounts; by id: the caller's lookup order), through the same
services and checks as /v1. mem0's entity ids only narrow what is read (scopes.py).

No LLM runs here: every message is stored as it was said (one memory per message, kind `message`),
whatever `infer` says; the pipeline's rule-based extractor derives facts from it afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import anyio.to_thread
from pydantic import ValidationError

from api.mem0_compat.scopes import (
    SCOPE_KEY, ScopeFilter, entity_scope, episode_id, expiration, expired, scope_of, scope_tags,
)
from api.mem0_compat.views import mem0_hit, mem0_history, mem0_memory
from api.memory_input import new_memory
from api.schemas import MemoryIn
from pipeline.access import Caller
from pipeline.errors import Invalid, NotFound
from pipeline.filters import SearchFilter
from service.hybrid_search import SearchRequest
from service.memories import MemoryChanges
from service.runtime import Runtime

LIST_PAGE = 1000  # rows read per page while listing a scope
LIST_MAX = 100_000  # a listing (and so a delete_all) covers at most this many memories per request
SEARCH_MAX = 100  # MemOS's top_k limit; a larger mem0 top_k is served up to this
DELETE_AT_ONCE = 64  # deletes in flight together (they share group commits)


def problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])


def speaker(role: str, scope: Mapping[str, str]) -> str:
    """Who said it, as the fact extractor reads it: the user's id for a user turn, the agent's for
    an assistant turn, so "I moved to Austin" said by alice becomes a fact about alice."""
    if role == "user":
        return scope.get("user_id", "user")
    if role == "assistant":
        return scope.get("agent_id", "assistant")
    return role


def today() -> date:
    return datetime.now(UTC).date()


class Mem0Memories:
    def __init__(self, rt: Runtime, caller: Caller) -> None:
        self._rt, self._caller = rt, caller

    # --- writes ------------------------------------------------------------------------------

    async def add(self, messages: Sequence[Mapping[str, Any]], ids: Mapping[str, Any], metadata: Mapping[str, Any] | None,
                  expiration_date: Any = None, timestamp: int | None = None) -> tuple[str, list[dict[str, Any]]]:
        """Each message stored as a memory in the caller's cube, searchable when this returns; the job
        id and, per message, mem0's `{id, memory, event}` (with `status` from MemOS: done, exists, ...)."""
        scope = entity_scope(ids)
        if not messages:
            raise Invalid("messages must hold at least one message")
        run_episode = await self._run_episode(scope.get("run_id"))
        mem0: dict[str, Any] = dict(scope)
        if metadata:
            mem0["metadata"] = dict(metadata)
        if (expires := expiration(expiration_date)) is not None:
            mem0["expiration_date"] = expires
        created_at = datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None
        items = []
        for message in messages:
            role = str(message.get("role") or "user")
            try:
                body = MemoryIn(content=message.get("content"), kind="message", tags=scope_tags(scope),
                                metadata={"role": role, "speaker": speaker(role, scope), SCOPE_KEY: mem0},
                                episode=run_episode, created_at=created_at)
            except ValidationError as exc:
                raise Invalid(f"a message is not valid: {problems(exc)}") from None
            items.append(new_memory(body))
        out = await self._rt.memories.add_batch(self._caller, items, wait=True)
        return out["job_id"], [{"id": item["id"], "memory": new.content, "event": "ADD", "status": item["status"],
                                "data": {"memory": new.content}} for item, new in zip(out["items"], items)]

    async def _run_episode(self, run_id: str | None) -> str | None:
        """The episode a run's messages join, opened the first time the run writes."""
        if run_id is None:
            return None
        opened = await self._rt.episodes.open(self._caller, f"mem0 run {run_id}", episode_id(run_id), None)
        return opened["id"]

    async def update(self, memory_id: str, text: str | None, changes: Mapping[str, Any]) -> dict[str, Any]:
        """New text and/or metadata and/or expiration date; the mem0 scope is kept. `changes` holds
        only the fields the client sent (an explicit null expiration date clears it)."""
        current = await anyio.to_thread.run_sync(self._rt.memories.get, self._caller, memory_id)
        metadata = dict(current["metadata"])
        mem0 = dict(scope_of(metadata))
        if "metadata" in changes:
            mem0["metadata"] = dict(changes["metadata"] or {})
        if "expiration_date" in changes:
            mem0.pop("expiration_date", None)
            if (expires := expiration(changes["expiration_date"])) is not None:
                mem0["expiration_date"] = expires
        if mem0 or SCOPE_KEY in metadata:
            metadata[SCOPE_KEY] = mem0
        if text is not None and not text.strip():
            raise Invalid("text must not be empty")
        accepted = await self._rt.memories.update(
            self._caller, memory_id,
            MemoryChanges(content=text, metadata=metadata if metadata != current["metadata"] else None), None)
        if accepted.memory is not None:
            return mem0_memory(accepted.memory)
        return mem0_memory(await anyio.to_thread.run_sync(self._rt.memories.get, self._caller, memory_id))

    async def delete(self, memory_id: str) -> None:
        await self._rt.memories.delete(self._caller, memory_id)

    async def delete_matching(self, scope: ScopeFilter) -> int:
        """Every memory of the caller's own cube the filter admits (expired ones too); how many went."""
        ids = [m["id"] for m in await self._matching(scope, show_expired=True)]
        deleted = 0
        for start in range(0, len(ids), DELETE_AT_ONCE):
            outcomes = await asyncio.gather(*(self.delete(i) for i in ids[start:start + DELETE_AT_ONCE]),
                                            return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException) and not isinstance(outcome, NotFound):
                    raise outcome
                deleted += outcome is None
        return deleted

    # --- reads -------------------------------------------------------------------------------

    def get(self, memory_id: str) -> dict[str, Any]:
        return mem0_memory(self._rt.memories.get(self._caller, memory_id))

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        return mem0_history(memory_id, self._rt.graph.history(self._caller, memory_id, None))

    async def list(self, scope: ScopeFilter | None, show_expired: bool) -> list[dict[str, Any]]:
        """The caller's own cube's memories the filter admits (None: every memory), newest first."""
        return [mem0_memory(m) for m in await self._matching(scope, show_expired)]

    async def _matching(self, scope: ScopeFilter | None, show_expired: bool) -> list[dict[str, Any]]:
        return await anyio.to_thread.run_sync(self._scan, scope, show_expired)

    def _scan(self, scope: ScopeFilter | None, show_expired: bool) -> list[dict[str, Any]]:
        tags = scope.tags() if scope is not None else None
        tag = next(iter(tags)) if tags is not None and len(tags) == 1 else None  # the listing filters on one tag
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        now = today()
        seen = 0
        while seen < LIST_MAX:
            page = self._rt.memories.list(self._caller, limit=LIST_PAGE, cursor=cursor, tag=tag, kind=None,
                                          status="active")
            seen += len(page["items"])
            for memory in page["items"]:
                admitted = scope is None or scope.admits(memory["metadata"])
                if admitted and (show_expired or not expired(scope_of(memory["metadata"]).get("expiration_date"), now)):
                    found.append(memory)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        return found

    def search(self, query: str, scope: ScopeFilter, top_k: int, threshold: float | None,
               show_expired: bool) -> list[dict[str, Any]]:
        """The best matches the filter admits, in MemOS's ranking, as mem0 search results."""
        top_k = max(1, min(top_k, SEARCH_MAX))
        # The indexes filter on the scope's tags; what they cannot decide is filtered here, so ask for more.
        wanted = top_k if scope.exact else SEARCH_MAX
        found = self._rt.search.search(self._caller, SearchRequest(
            query=query, top_k=wanted, filter=SearchFilter(tags=scope.tags())))
        now = today()
        hits = []
        for hit in found["results"]:
            if not scope.admits(hit["metadata"]):
                continue
            if not show_expired and expired(scope_of(hit["metadata"]).get("expiration_date"), now):
                continue
            shown = mem0_hit(hit)
            if threshold is not None and shown["score"] < threshold:
                continue
            hits.append(shown)
        return hits[:top_k]
