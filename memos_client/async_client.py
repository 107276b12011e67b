"""`AsyncMemos`: the asynchronous client, method for method the same as `Memos` (memos_client/client.py).

    from memos_client import AsyncMemos

    async with AsyncMemos("http://127.0.0.1:8765", agent="alice") as memos:
        await memos.add("Alice prefers green tea", tags=["prefs"], wait=True)
        hits = (await memos.search("what does alice drink")).results

The paging and export methods (`iter_memories`, `iter_audit`, `export`, `iter_export`) are async
iterators; the rest are coroutines.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from memos_client import endpoints as ep
from memos_client.endpoints import Call
from memos_client.models import (
    Accepted,
    AuditEventOut,
    AuditPage,
    BatchAccepted,
    CubeOut,
    EpisodeOut,
    FeedbackOut,
    Health,
    Job,
    LinkOut,
    MemberOut,
    Memory,
    MemoryGraph,
    MemoryHistory,
    MemoryIn,
    MemoryPage,
    RankingIn,
    ReindexAccepted,
    RenderedSkill,
    SearchOut,
    SkillOut,
    SkillTool,
    Timeline,
    ToolIn,
)
from memos_client.transport import (
    REQUEST_ID,
    Lines,
    Reply,
    Retry,
    base_headers,
    clean_params,
    decode,
    error_of,
    finish,
    new_request_id,
    settings_from_env,
    unreachable,
)

T = TypeVar("T")


class AsyncMemos:
    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        agent: str | None = None,
        timeout: float = 60.0,
        retry: Retry = Retry(),
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """As `Memos`: `url`, `api_key` and `agent` default to MEMOS_URL, MEMOS_API_KEY and MEMOS_AGENT."""
        self.url, api_key, agent = settings_from_env(url, api_key, agent)
        self._retry = retry
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout,
                                       headers=base_headers(api_key, agent, headers), transport=transport)

    async def __aenter__(self) -> AsyncMemos:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # --- any endpoint --------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, json: Any = None,
                      params: Mapping[str, Any] | None = None) -> Reply:
        """Any endpoint by method and path: `(status, body)` with the body decoded (JSON, else bytes),
        or the typed error; retried like every other call. For endpoints newer than this SDK."""
        headers = {REQUEST_ID: new_request_id()}
        tries = 0
        while True:
            tries += 1
            try:
                response = await self._http.request(method, path, json=json, params=clean_params(params),
                                                    headers=headers)
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from exc
            wait = self._retry.wait_before_retry(tries, response)
            if wait is None:
                return finish(response)
            await asyncio.sleep(wait)

    @asynccontextmanager
    async def stream(self, method: str, path: str, *,
                     params: Mapping[str, Any] | None = None) -> AsyncIterator[AsyncIterator[bytes]]:
        """Any endpoint's body as it arrives, in chunks (an export of a large cube never sits in memory)."""
        headers = {REQUEST_ID: new_request_id()}
        tries = 0
        while True:
            tries += 1
            try:
                async with self._http.stream(method, path, params=clean_params(params), headers=headers) as response:
                    wait = self._retry.wait_before_retry(tries, response)
                    if wait is None:
                        if response.status_code >= 400:
                            await response.aread()
                            raise error_of(response, decode(response))
                        yield response.aiter_bytes()
                        return
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from exc
            await asyncio.sleep(wait)

    async def _run(self, call: Call[T]) -> T:
        return call.parse(await self.request(call.method, call.path, json=call.json, params=call.params))

    # --- memories ------------------------------------------------------------------------------

    async def health(self) -> Health:
        return await self._run(ep.health())

    async def add(self, content: str, *, kind: str | None = None, tags: Sequence[str] | None = None,
                  metadata: Mapping[str, Any] | None = None, memory_id: str | None = None,
                  created_at: datetime | str | None = None, source_ids: Sequence[str] | None = None,
                  cube: str | None = None, episode: str | None = None, tool: ToolIn | Mapping[str, Any] | None = None,
                  wait: bool = False) -> Accepted | Memory:
        """Write a memory. `Accepted` (queued, or `exists` for an id stored before); with `wait`, the
        stored `Memory` once it is searchable (or `Accepted` if that takes longer than the server waits)."""
        return await self._run(ep.add(content, kind=kind, tags=tags, metadata=metadata, memory_id=memory_id,
                                      created_at=created_at, source_ids=source_ids, cube=cube, episode=episode,
                                      tool=tool, wait=wait))

    async def add_batch(self, items: Sequence[MemoryIn | Mapping[str, Any]], *, cube: str | None = None,
                        wait: bool = False) -> BatchAccepted:
        return await self._run(ep.add_batch(items, cube=cube, wait=wait))

    async def get(self, memory_id: str, *, cube: str | None = None) -> Memory:
        return await self._run(ep.get(memory_id, cube=cube))

    async def list_memories(self, *, cube: str | None = None, tier: str | None = None, tag: str | None = None,
                            kind: str | None = None, status: str | None = None, limit: int | None = None,
                            cursor: str | None = None) -> MemoryPage:
        """One page, newest first; pass its `next_cursor` back as `cursor` (or use `iter_memories`)."""
        return await self._run(ep.list_memories(cube=cube, tier=tier, tag=tag, kind=kind, status=status, limit=limit,
                                                cursor=cursor))

    async def iter_memories(self, *, cube: str | None = None, tier: str | None = None, tag: str | None = None,
                            kind: str | None = None, status: str | None = None,
                            page_size: int = 200) -> AsyncIterator[Memory]:
        """Every memory that matches, newest first, fetched a page at a time as you iterate."""
        cursor: str | None = None
        while True:
            page = await self.list_memories(cube=cube, tier=tier, tag=tag, kind=kind, status=status,
                                            limit=page_size, cursor=cursor)
            for memory in page.items:
                yield memory
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def update(self, memory_id: str, *, content: str | None = None, kind: str | None = None,
                     tags: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None,
                     version: int | None = None, cube: str | None = None) -> Memory | Accepted:
        """The updated `Memory` (version + 1); `version` makes it fail with `Conflict` unless it is the stored one."""
        return await self._run(ep.update(memory_id, content=content, kind=kind, tags=tags, metadata=metadata,
                                         version=version, cube=cube))

    async def delete(self, memory_id: str, *, cube: str | None = None) -> Accepted | None:
        """None once deleted; `Accepted` if the pipeline is backed up beyond the server's wait."""
        return await self._run(ep.delete(memory_id, cube=cube))

    async def share(self, memory_id: str, *, to: str, from_cube: str | None = None) -> Memory:
        """Copy a memory you can read into a cube you can write; the copy, with provenance."""
        return await self._run(ep.share(memory_id, to=to, from_cube=from_cube))

    async def timeline(self, memory_id: str, *, before: int | None = None, after: int | None = None,
                       cube: str | None = None) -> Timeline:
        return await self._run(ep.timeline(memory_id, before=before, after=after, cube=cube))

    async def history(self, memory_id: str, *, cube: str | None = None) -> MemoryHistory:
        return await self._run(ep.history(memory_id, cube=cube))

    async def image(self, memory_id: str, *, cube: str | None = None) -> bytes:
        """An image memory's bytes (GPS removed unless it was kept at upload)."""
        return await self._run(ep.image_content(memory_id, cube=cube))

    async def thumbnail(self, memory_id: str, *, cube: str | None = None) -> bytes:
        """An image memory's thumbnail (JPEG, or PNG when the image has transparency)."""
        return await self._run(ep.image_thumbnail(memory_id, cube=cube))

    async def graph(self, memory_id: str, *, depth: int | None = None, types: Sequence[str] | None = None,
                    cube: str | None = None) -> MemoryGraph:
        return await self._run(ep.graph(memory_id, depth=depth, types=types, cube=cube))

    # --- search --------------------------------------------------------------------------------

    async def search(self, query: str, *, top_k: int | None = None, tags: Sequence[str] | None = None,
                     kinds: Sequence[str] | None = None, tiers: Sequence[str] | None = None,
                     collapse: bool | None = None, since: datetime | str | None = None,
                     until: datetime | str | None = None,
                     max_memories: int | None = None, max_tokens: int | None = None,
                     ranking: RankingIn | Mapping[str, Any] | None = None,
                     cubes: Sequence[str] | None = None) -> SearchOut:
        """Hybrid search (BM25 and vectors, fused); options left out take the server's defaults."""
        return await self._run(ep.search(query, top_k=top_k, tags=tags, kinds=kinds, tiers=tiers, collapse=collapse,
                                         since=since, until=until, max_memories=max_memories, max_tokens=max_tokens,
                                         ranking=ranking, cubes=cubes))

    # --- episodes, skills, feedback, links -----------------------------------------------------

    async def open_episode(self, task: str, *, episode_id: str | None = None, cube: str | None = None) -> EpisodeOut:
        return await self._run(ep.open_episode(task, episode_id=episode_id, cube=cube))

    async def get_episode(self, episode_id: str, *, cube: str | None = None) -> EpisodeOut:
        return await self._run(ep.get_episode(episode_id, cube=cube))

    async def close_episode(self, episode_id: str, outcome: str, *, cube: str | None = None) -> EpisodeOut:
        """`outcome`: success, failure or unknown. Its summary (and any skill it completes) is stored."""
        return await self._run(ep.close_episode(episode_id, outcome, cube=cube))

    async def list_skills(self, *, cube: str | None = None) -> list[SkillOut]:
        return await self._run(ep.list_skills(cube=cube))

    async def get_skill(self, skill_id: str, *, version: int | None = None, cube: str | None = None) -> SkillOut:
        return await self._run(ep.get_skill(skill_id, version=version, cube=cube))

    async def skill_tool(self, skill_id: str, *, cube: str | None = None) -> SkillTool:
        """The skill as an OpenAI function and an MCP tool definition."""
        return await self._run(ep.skill_tool(skill_id, cube=cube))

    async def render_skill(self, skill_id: str, params: Mapping[str, Any] | None = None, *,
                           cube: str | None = None) -> RenderedSkill:
        """The procedure with `params` filled in; `InvalidParams` if they break the skill's schema."""
        return await self._run(ep.render_skill(skill_id, params, cube=cube))

    async def feedback(self, memory_id: str, signal: str, *, correction: str | None = None, note: str | None = None,
                       cube: str | None = None) -> FeedbackOut:
        """`signal`: useful, not_useful, wrong (with a `correction`) or outdated."""
        return await self._run(ep.feedback(memory_id, signal, correction=correction, note=note, cube=cube))

    async def link(self, src: str, dst: str, link_type: str, *, metadata: Mapping[str, Any] | None = None,
                   cube: str | None = None) -> LinkOut:
        return await self._run(ep.link(src, dst, link_type, metadata=metadata, cube=cube))

    # --- cubes, members, mounts, audit ---------------------------------------------------------

    async def create_cube(self, name: str, *, description: str | None = None) -> CubeOut:
        return await self._run(ep.create_cube(name, description=description))

    async def list_cubes(self) -> list[CubeOut]:
        return await self._run(ep.list_cubes())

    async def get_cube(self, cube_id: str) -> CubeOut:
        return await self._run(ep.get_cube(cube_id))

    async def update_cube(self, cube_id: str, *, name: str | None = None, description: str | None = None) -> CubeOut:
        return await self._run(ep.update_cube(cube_id, name=name, description=description))

    async def delete_cube(self, cube_id: str) -> None:
        return await self._run(ep.delete_cube(cube_id))

    async def members(self, cube_id: str) -> list[MemberOut]:
        return await self._run(ep.members(cube_id))

    async def grant(self, cube_id: str, agent: str, role: str) -> MemberOut:
        """`role`: read, write or admin."""
        return await self._run(ep.grant(cube_id, agent, role))

    async def revoke(self, cube_id: str, agent: str) -> None:
        return await self._run(ep.revoke(cube_id, agent))

    async def mounts(self) -> list[CubeOut]:
        return await self._run(ep.mounts())

    async def mount(self, cube_id: str) -> CubeOut:
        return await self._run(ep.mount(cube_id))

    async def unmount(self, cube_id: str) -> None:
        return await self._run(ep.unmount(cube_id))

    async def audit(self, *, cube: str | None = None, before: int | None = None, limit: int | None = None) -> AuditPage:
        """One page, newest first; pass `next_before` back as `before` (or use `iter_audit`)."""
        return await self._run(ep.audit(cube=cube, before=before, limit=limit))

    async def iter_audit(self, *, cube: str | None = None, page_size: int = 200) -> AsyncIterator[AuditEventOut]:
        before: int | None = None
        while True:
            page = await self.audit(cube=cube, before=before, limit=page_size)
            for event in page.events:
                yield event
            if page.next_before is None:
                return
            before = page.next_before

    async def export(self, cube_id: str, *, format: str = "jsonl") -> AsyncIterator[bytes]:
        """The cube's export as it streams in (`jsonl` or `parquet`); the request starts at the first chunk."""
        call = ep.export(cube_id, format=format)
        async with self.stream(call.method, call.path, params=call.params) as chunks:
            async for chunk in chunks:
                yield chunk

    async def export_to(self, cube_id: str, dest: str | os.PathLike[str] | IO[bytes], *,
                        format: str = "jsonl") -> int:
        """Stream the export into a file (written whole or not at all) or a binary stream; the bytes written."""
        if not isinstance(dest, (str, os.PathLike)):
            return await _copy(self.export(cube_id, format=format), dest)
        path = Path(dest)
        part = path.with_name(path.name + ".part")
        try:
            with part.open("wb") as out:
                written = await _copy(self.export(cube_id, format=format), out)
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)
        return written

    async def iter_export(self, cube_id: str) -> AsyncIterator[Memory]:
        """Every memory of the cube, read from its JSON lines export as they arrive."""
        lines = Lines()
        async for chunk in self.export(cube_id, format="jsonl"):
            for line in lines.feed(chunk):
                yield ep.memory_line(line)
        for line in lines.end():
            yield ep.memory_line(line)


    # --- jobs and admin ------------------------------------------------------------------------

    async def job(self, job_id: str) -> Job:
        return await self._run(ep.job(job_id))

    async def wait_for_job(self, job_id: str, *, timeout_s: float = 300.0, poll_s: float = 0.25) -> Job:
        """The job once it is done or failed; TimeoutError if it is still going after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = await self.job(job_id)
            if job.status in ep.FINISHED:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout_s} s")
            await asyncio.sleep(poll_s)

    async def reindex(self, *, reembed: bool = False, everything: bool = False) -> ReindexAccepted:
        """Rebuild the search indexes from the cube files (an admin key while auth is on); follow its job."""
        return await self._run(ep.reindex(reembed=reembed, everything=everything))


async def _copy(chunks: AsyncIterator[bytes], out: IO[bytes]) -> int:
    written = 0
    async for chunk in chunks:
        out.write(chunk)
        written += len(chunk)
    return written
