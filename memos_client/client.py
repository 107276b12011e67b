"""`Memos`: the synchronous client. Every endpoint is one method returning the server's own model.

    from memos_client import Memos

    with Memos("http://127.0.0.1:8765", agent="alice") as memos:
        memos.add("Alice prefers green tea", tags=["prefs"], wait=True)
        hits = memos.search("what does alice drink").results

Errors are typed (memos_client/errors.py); 503 and 429 are retried (memos_client/transport.py
`Retry`). `AsyncMemos` (memos_client/async_client.py) has the same methods, awaited.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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


class Memos:
    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        agent: str | None = None,
        timeout: float = 60.0,
        retry: Retry = Retry(),
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`url`, `api_key` and `agent` default to MEMOS_URL, MEMOS_API_KEY and MEMOS_AGENT (as the CLI
        reads them), then to a loopback server and no key. `agent` names the caller while the server's
        auth is off; with auth on, the key says who calls."""
        self.url, api_key, agent = settings_from_env(url, api_key, agent)
        self._retry = retry
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=base_headers(api_key, agent, headers),
                                  transport=transport)

    def __enter__(self) -> Memos:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- any endpoint --------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Reply:
        """Any endpoint by method and path: `(status, body)` with the body decoded (JSON, else bytes),
        or the typed error; retried like every other call. For endpoints newer than this SDK."""
        headers = {REQUEST_ID: new_request_id()}
        tries = 0
        while True:
            tries += 1
            try:
                response = self._http.request(method, path, json=json, params=clean_params(params), headers=headers)
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from exc
            wait = self._retry.wait_before_retry(tries, response)
            if wait is None:
                return finish(response)
            time.sleep(wait)

    @contextmanager
    def stream(self, method: str, path: str, *, params: Mapping[str, Any] | None = None) -> Iterator[Iterator[bytes]]:
        """Any endpoint's body as it arrives, in chunks (an export of a large cube never sits in memory)."""
        headers = {REQUEST_ID: new_request_id()}
        tries = 0
        while True:
            tries += 1
            try:
                with self._http.stream(method, path, params=clean_params(params), headers=headers) as response:
                    wait = self._retry.wait_before_retry(tries, response)
                    if wait is None:
                        if response.status_code >= 400:
                            response.read()
                            raise error_of(response, decode(response))
                        yield response.iter_bytes()
                        return
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from exc
            time.sleep(wait)

    def _run(self, call: Call[T]) -> T:
        return call.parse(self.request(call.method, call.path, json=call.json, params=call.params))

    # --- memories ------------------------------------------------------------------------------

    def health(self) -> Health:
        return self._run(ep.health())

    def add(self, content: str, *, kind: str | None = None, tags: Sequence[str] | None = None,
            metadata: Mapping[str, Any] | None = None, memory_id: str | None = None,
            created_at: datetime | str | None = None, source_ids: Sequence[str] | None = None,
            cube: str | None = None, episode: str | None = None, tool: ToolIn | Mapping[str, Any] | None = None,
            wait: bool = False) -> Accepted | Memory:
        """Write a memory. `Accepted` (queued, or `exists` for an id stored before); with `wait`, the
        stored `Memory` once it is searchable (or `Accepted` if that takes longer than the server waits)."""
        return self._run(ep.add(content, kind=kind, tags=tags, metadata=metadata, memory_id=memory_id,
                                created_at=created_at, source_ids=source_ids, cube=cube, episode=episode,
                                tool=tool, wait=wait))

    def add_batch(self, items: Sequence[MemoryIn | Mapping[str, Any]], *, cube: str | None = None,
                  wait: bool = False) -> BatchAccepted:
        return self._run(ep.add_batch(items, cube=cube, wait=wait))

    def get(self, memory_id: str, *, cube: str | None = None) -> Memory:
        return self._run(ep.get(memory_id, cube=cube))

    def list_memories(self, *, cube: str | None = None, tier: str | None = None, tag: str | None = None,
                      kind: str | None = None, status: str | None = None, limit: int | None = None,
                      cursor: str | None = None) -> MemoryPage:
        """One page, newest first; pass its `next_cursor` back as `cursor` (or use `iter_memories`)."""
        return self._run(ep.list_memories(cube=cube, tier=tier, tag=tag, kind=kind, status=status, limit=limit,
                                          cursor=cursor))

    def iter_memories(self, *, cube: str | None = None, tier: str | None = None, tag: str | None = None,
                      kind: str | None = None, status: str | None = None,
                      page_size: int = 200) -> Iterator[Memory]:
        """Every memory that matches, newest first, fetched a page at a time as you iterate."""
        cursor: str | None = None
        while True:
            page = self.list_memories(cube=cube, tier=tier, tag=tag, kind=kind, status=status, limit=page_size,
                                      cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def update(self, memory_id: str, *, content: str | None = None, kind: str | None = None,
               tags: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None,
               version: int | None = None, cube: str | None = None) -> Memory | Accepted:
        """The updated `Memory` (version + 1); `version` makes it fail with `Conflict` unless it is the stored one."""
        return self._run(ep.update(memory_id, content=content, kind=kind, tags=tags, metadata=metadata,
                                   version=version, cube=cube))

    def delete(self, memory_id: str, *, cube: str | None = None) -> Accepted | None:
        """None once deleted; `Accepted` if the pipeline is backed up beyond the server's wait."""
        return self._run(ep.delete(memory_id, cube=cube))

    def share(self, memory_id: str, *, to: str, from_cube: str | None = None) -> Memory:
        """Copy a memory you can read into a cube you can write; the copy, with provenance."""
        return self._run(ep.share(memory_id, to=to, from_cube=from_cube))

    def timeline(self, memory_id: str, *, before: int | None = None, after: int | None = None,
                 cube: str | None = None) -> Timeline:
        return self._run(ep.timeline(memory_id, before=before, after=after, cube=cube))

    def history(self, memory_id: str, *, cube: str | None = None) -> MemoryHistory:
        return self._run(ep.history(memory_id, cube=cube))

    def image(self, memory_id: str, *, cube: str | None = None) -> bytes:
        """An image memory's bytes (GPS removed unless it was kept at upload)."""
        return self._run(ep.image_content(memory_id, cube=cube))

    def thumbnail(self, memory_id: str, *, cube: str | None = None) -> bytes:
        """An image memory's thumbnail (JPEG, or PNG when the image has transparency)."""
        return self._run(ep.image_thumbnail(memory_id, cube=cube))

    def graph(self, memory_id: str, *, depth: int | None = None, types: Sequence[str] | None = None,
              cube: str | None = None) -> MemoryGraph:
        return self._run(ep.graph(memory_id, depth=depth, types=types, cube=cube))

    # --- search --------------------------------------------------------------------------------

    def search(self, query: str, *, top_k: int | None = None, tags: Sequence[str] | None = None,
               kinds: Sequence[str] | None = None, tiers: Sequence[str] | None = None, collapse: bool | None = None,
               since: datetime | str | None = None, until: datetime | str | None = None,
               max_memories: int | None = None, max_tokens: int | None = None,
               ranking: RankingIn | Mapping[str, Any] | None = None,
               cubes: Sequence[str] | None = None) -> SearchOut:
        """Hybrid search (BM25 and vectors, fused); options left out take the server's defaults."""
        return self._run(ep.search(query, top_k=top_k, tags=tags, kinds=kinds, tiers=tiers, collapse=collapse,
                                   since=since, until=until, max_memories=max_memories, max_tokens=max_tokens,
                                   ranking=ranking, cubes=cubes))

    # --- episodes, skills, feedback, links -----------------------------------------------------

    def open_episode(self, task: str, *, episode_id: str | None = None, cube: str | None = None) -> EpisodeOut:
        return self._run(ep.open_episode(task, episode_id=episode_id, cube=cube))

    def get_episode(self, episode_id: str, *, cube: str | None = None) -> EpisodeOut:
        return self._run(ep.get_episode(episode_id, cube=cube))

    def close_episode(self, episode_id: str, outcome: str, *, cube: str | None = None) -> EpisodeOut:
        """`outcome`: success, failure or unknown. Its summary (and any skill it completes) is stored."""
        return self._run(ep.close_episode(episode_id, outcome, cube=cube))

    def list_skills(self, *, cube: str | None = None) -> list[SkillOut]:
        return self._run(ep.list_skills(cube=cube))

    def get_skill(self, skill_id: str, *, version: int | None = None, cube: str | None = None) -> SkillOut:
        return self._run(ep.get_skill(skill_id, version=version, cube=cube))

    def skill_tool(self, skill_id: str, *, cube: str | None = None) -> SkillTool:
        """The skill as an OpenAI function and an MCP tool definition."""
        return self._run(ep.skill_tool(skill_id, cube=cube))

    def render_skill(self, skill_id: str, params: Mapping[str, Any] | None = None, *,
                     cube: str | None = None) -> RenderedSkill:
        """The procedure with `params` filled in; `InvalidParams` if they break the skill's schema."""
        return self._run(ep.render_skill(skill_id, params, cube=cube))

    def feedback(self, memory_id: str, signal: str, *, correction: str | None = None, note: str | None = None,
                 cube: str | None = None) -> FeedbackOut:
        """`signal`: useful, not_useful, wrong (with a `correction`) or outdated."""
        return self._run(ep.feedback(memory_id, signal, correction=correction, note=note, cube=cube))

    def link(self, src: str, dst: str, link_type: str, *, metadata: Mapping[str, Any] | None = None,
             cube: str | None = None) -> LinkOut:
        return self._run(ep.link(src, dst, link_type, metadata=metadata, cube=cube))

    # --- cubes, members, mounts, audit ---------------------------------------------------------

    def create_cube(self, name: str, *, description: str | None = None) -> CubeOut:
        return self._run(ep.create_cube(name, description=description))

    def list_cubes(self) -> list[CubeOut]:
        return self._run(ep.list_cubes())

    def get_cube(self, cube_id: str) -> CubeOut:
        return self._run(ep.get_cube(cube_id))

    def update_cube(self, cube_id: str, *, name: str | None = None, description: str | None = None) -> CubeOut:
        return self._run(ep.update_cube(cube_id, name=name, description=description))

    def delete_cube(self, cube_id: str) -> None:
        return self._run(ep.delete_cube(cube_id))

    def members(self, cube_id: str) -> list[MemberOut]:
        return self._run(ep.members(cube_id))

    def grant(self, cube_id: str, agent: str, role: str) -> MemberOut:
        """`role`: read, write or admin."""
        return self._run(ep.grant(cube_id, agent, role))

    def revoke(self, cube_id: str, agent: str) -> None:
        return self._run(ep.revoke(cube_id, agent))

    def mounts(self) -> list[CubeOut]:
        return self._run(ep.mounts())

    def mount(self, cube_id: str) -> CubeOut:
        return self._run(ep.mount(cube_id))

    def unmount(self, cube_id: str) -> None:
        return self._run(ep.unmount(cube_id))

    def audit(self, *, cube: str | None = None, before: int | None = None, limit: int | None = None) -> AuditPage:
        """One page, newest first; pass `next_before` back as `before` (or use `iter_audit`)."""
        return self._run(ep.audit(cube=cube, before=before, limit=limit))

    def iter_audit(self, *, cube: str | None = None, page_size: int = 200) -> Iterator[AuditEventOut]:
        before: int | None = None
        while True:
            page = self.audit(cube=cube, before=before, limit=page_size)
            yield from page.events
            if page.next_before is None:
                return
            before = page.next_before

    def export(self, cube_id: str, *, format: str = "jsonl") -> Iterator[bytes]:
        """The cube's export as it streams in (`jsonl` or `parquet`); the request starts at the first chunk."""
        call = ep.export(cube_id, format=format)
        with self.stream(call.method, call.path, params=call.params) as chunks:
            yield from chunks

    def export_to(self, cube_id: str, dest: str | os.PathLike[str] | IO[bytes], *, format: str = "jsonl") -> int:
        """Stream the export into a file (written whole or not at all) or a binary stream; the bytes written."""
        if not isinstance(dest, (str, os.PathLike)):
            return _copy(self.export(cube_id, format=format), dest)
        path = Path(dest)
        part = path.with_name(path.name + ".part")
        try:
            with part.open("wb") as out:
                written = _copy(self.export(cube_id, format=format), out)
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)
        return written

    def iter_export(self, cube_id: str) -> Iterator[Memory]:
        """Every memory of the cube, read from its JSON lines export as they arrive."""
        lines = Lines()
        for chunk in self.export(cube_id, format="jsonl"):
            yield from map(ep.memory_line, lines.feed(chunk))
        yield from map(ep.memory_line, lines.end())

    # --- jobs and admin ------------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        return self._run(ep.job(job_id))

    def wait_for_job(self, job_id: str, *, timeout_s: float = 300.0, poll_s: float = 0.25) -> Job:
        """The job once it is done or failed; TimeoutError if it is still going after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job.status in ep.FINISHED:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout_s} s")
            time.sleep(poll_s)

    def reindex(self, *, reembed: bool = False, everything: bool = False) -> ReindexAccepted:
        """Rebuild the search indexes from the cube files (an admin key while auth is on); follow its job."""
        return self._run(ep.reindex(reembed=reembed, everything=everything))


def _copy(chunks: Iterator[bytes], out: IO[bytes]) -> int:
    written = 0
    for chunk in chunks:
        out.write(chunk)
        written += len(chunk)
    return written
