"""Every endpoint of the API once: its method and path, the request it sends, the model it answers with.

Both clients (memos_client/client.py, async_client.py) call these builders and run the `Call`
they return, so an endpoint's request and answer are written once. `ROUTES` lists every
(method, path template) used here; tests/sdk/ checks that it covers every /v1 route of the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter, ValidationError

from memos_client.errors import UnexpectedResponse
from memos_client.models import (
    Accepted,
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
from memos_client.transport import Reply, body_of, jsonable

T = TypeVar("T")
ROUTES: set[tuple[str, str]] = set()


def _route(method: str, template: str) -> tuple[str, str]:
    ROUTES.add((method, template))
    return method, template


HEALTH = _route("GET", "/v1/health")
ADD = _route("POST", "/v1/memories")
ADD_BATCH = _route("POST", "/v1/memories/batch")
LIST_MEMORIES = _route("GET", "/v1/memories")
GET_MEMORY = _route("GET", "/v1/memories/{memory_id}")
UPDATE_MEMORY = _route("PATCH", "/v1/memories/{memory_id}")
DELETE_MEMORY = _route("DELETE", "/v1/memories/{memory_id}")
SHARE = _route("POST", "/v1/memories/{memory_id}/share")
TIMELINE = _route("GET", "/v1/memories/{memory_id}/timeline")
HISTORY = _route("GET", "/v1/memories/{memory_id}/history")
GRAPH = _route("GET", "/v1/memories/{memory_id}/graph")
IMAGE_CONTENT = _route("GET", "/v1/memories/{memory_id}/content")
IMAGE_THUMBNAIL = _route("GET", "/v1/memories/{memory_id}/thumbnail")
SEARCH = _route("POST", "/v1/search")
OPEN_EPISODE = _route("POST", "/v1/episodes")
GET_EPISODE = _route("GET", "/v1/episodes/{episode_id}")
CLOSE_EPISODE = _route("PATCH", "/v1/episodes/{episode_id}")
LIST_SKILLS = _route("GET", "/v1/skills")
GET_SKILL = _route("GET", "/v1/skills/{skill_id}")
SKILL_TOOL = _route("GET", "/v1/skills/{skill_id}/tool")
RENDER_SKILL = _route("POST", "/v1/skills/{skill_id}/render")
FEEDBACK = _route("POST", "/v1/feedback")
LINK = _route("POST", "/v1/links")
CREATE_CUBE = _route("POST", "/v1/cubes")
LIST_CUBES = _route("GET", "/v1/cubes")
GET_CUBE = _route("GET", "/v1/cubes/{cube_id}")
UPDATE_CUBE = _route("PATCH", "/v1/cubes/{cube_id}")
DELETE_CUBE = _route("DELETE", "/v1/cubes/{cube_id}")
MEMBERS = _route("GET", "/v1/cubes/{cube_id}/members")
GRANT = _route("POST", "/v1/cubes/{cube_id}/members")
REVOKE = _route("DELETE", "/v1/cubes/{cube_id}/members/{agent}")
EXPORT = _route("GET", "/v1/cubes/{cube_id}/export")
MOUNTS = _route("GET", "/v1/mounts")
MOUNT = _route("POST", "/v1/mounts")
UNMOUNT = _route("DELETE", "/v1/mounts/{cube_id}")
AUDIT = _route("GET", "/v1/audit")
JOB = _route("GET", "/v1/jobs/{job_id}")
REINDEX = _route("POST", "/v1/reindex")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to make, and how its reply becomes the method's typed result."""

    route: tuple[str, str]
    parse: Callable[[Reply], T]
    path_params: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    json: Any = None

    @property
    def method(self) -> str:
        return self.route[0]

    @property
    def path(self) -> str:
        # Quoted whole: an id holding "/", "?", "#" or "%" stays one path segment.
        return self.route[1].format(**{k: quote(str(v), safe="") for k, v in self.path_params.items()})


@cache  # building a TypeAdapter is the costly part: once per kind
def model(kind: Any) -> Callable[[Reply], Any]:
    """A parser reading the reply's body as `kind` (a model, or a list of one)."""
    adapter = TypeAdapter(kind)

    def parse(reply: Reply) -> Any:
        return read(adapter, reply)

    return parse


def read(adapter: TypeAdapter, reply: Reply) -> Any:
    try:
        return adapter.validate_python(reply.body)
    except ValidationError as exc:
        raise UnexpectedResponse(f"the answer (HTTP {reply.status}) is not the documented shape: "
                                 f"{exc.errors()[0].get('msg', 'invalid')} at "
                                 f"{'.'.join(str(p) for p in exc.errors()[0].get('loc', ()))}",
                                 status=reply.status) from None


_ACCEPTED = TypeAdapter(Accepted)
_MEMORY = TypeAdapter(Memory)


def memory_line(line: bytes) -> Memory:
    """One line of a JSON lines export."""
    try:
        return _MEMORY.validate_json(line)
    except ValidationError as exc:
        raise UnexpectedResponse(f"an export line is not a memory: {exc.errors()[0].get('msg', 'invalid')}") from None


def accepted_or_memory(reply: Reply) -> Accepted | Memory:
    """201 with the stored memory; 202 (queued) or 200 (written before) with an Accepted."""
    return read(_MEMORY if reply.status == 201 else _ACCEPTED, reply)


def memory_or_accepted(reply: Reply) -> Memory | Accepted:
    """200 with the updated memory, or 202 when the pipeline is backed up beyond the wait timeout."""
    return read(_ACCEPTED if reply.status == 202 else _MEMORY, reply)


def accepted_or_none(reply: Reply) -> Accepted | None:
    """204 once deleted, or 202 with an Accepted when still queued at the wait timeout."""
    return None if reply.status == 204 else read(_ACCEPTED, reply)


def nothing(reply: Reply) -> None:
    return None


def _wait(wait: bool) -> dict[str, Any]:
    # Only `wait=true` is ever sent: a query string takes a write off the accept fast path.
    return {"wait": True} if wait else {}


# --- memories ------------------------------------------------------------------------------------

def health() -> Call[Health]:
    return Call(HEALTH, model(Health))


def add(content: str, *, kind: str | None, tags: Sequence[str] | None, metadata: Mapping[str, Any] | None,
        memory_id: str | None, created_at: datetime | str | None, source_ids: Sequence[str] | None,
        cube: str | None, episode: str | None, tool: ToolIn | Mapping[str, Any] | None,
        wait: bool) -> Call[Accepted | Memory]:
    body = body_of(content=content, kind=kind, tags=tags, metadata=metadata, id=memory_id, created_at=created_at,
                   source_ids=source_ids, cube=cube, episode=episode, tool=tool)
    return Call(ADD, accepted_or_memory, params=_wait(wait), json=body)


def add_batch(items: Sequence[MemoryIn | Mapping[str, Any]], *, cube: str | None, wait: bool) -> Call[BatchAccepted]:
    return Call(ADD_BATCH, model(BatchAccepted), params=_wait(wait), json=body_of(items=list(items), cube=cube))


def list_memories(*, cube: str | None, tier: str | None, tag: str | None, kind: str | None, status: str | None,
                  limit: int | None, cursor: str | None) -> Call[MemoryPage]:
    params = {"cube": cube, "tier": tier, "tag": tag, "kind": kind, "status": status, "limit": limit, "cursor": cursor}
    return Call(LIST_MEMORIES, model(MemoryPage), params=params)


def get(memory_id: str, *, cube: str | None) -> Call[Memory]:
    return Call(GET_MEMORY, model(Memory), {"memory_id": memory_id}, {"cube": cube})


def update(memory_id: str, *, content: str | None, kind: str | None, tags: Sequence[str] | None,
           metadata: Mapping[str, Any] | None, version: int | None,
           cube: str | None) -> Call[Memory | Accepted]:
    body = body_of(content=content, kind=kind, tags=tags, metadata=metadata, version=version)
    return Call(UPDATE_MEMORY, memory_or_accepted, {"memory_id": memory_id}, {"cube": cube}, body)


def delete(memory_id: str, *, cube: str | None) -> Call[Accepted | None]:
    return Call(DELETE_MEMORY, accepted_or_none, {"memory_id": memory_id}, {"cube": cube})


def share(memory_id: str, *, to: str, from_cube: str | None) -> Call[Memory]:
    return Call(SHARE, model(Memory), {"memory_id": memory_id}, json=body_of(to=to, from_cube=from_cube))


def timeline(memory_id: str, *, before: int | None, after: int | None, cube: str | None) -> Call[Timeline]:
    return Call(TIMELINE, model(Timeline), {"memory_id": memory_id}, {"before": before, "after": after, "cube": cube})


def history(memory_id: str, *, cube: str | None) -> Call[MemoryHistory]:
    return Call(HISTORY, model(MemoryHistory), {"memory_id": memory_id}, {"cube": cube})


def raw_bytes(reply: Reply) -> bytes:
    if not isinstance(reply.body, bytes):
        raise UnexpectedResponse(f"the answer (HTTP {reply.status}) is not an image's bytes", status=reply.status)
    return reply.body


def image_content(memory_id: str, *, cube: str | None) -> Call[bytes]:
    return Call(IMAGE_CONTENT, raw_bytes, {"memory_id": memory_id}, {"cube": cube})


def image_thumbnail(memory_id: str, *, cube: str | None) -> Call[bytes]:
    return Call(IMAGE_THUMBNAIL, raw_bytes, {"memory_id": memory_id}, {"cube": cube})


def graph(memory_id: str, *, depth: int | None, types: Sequence[str] | None, cube: str | None) -> Call[MemoryGraph]:
    params = {"depth": depth, "types": ",".join(types) if types else None, "cube": cube}
    return Call(GRAPH, model(MemoryGraph), {"memory_id": memory_id}, params)


# --- search --------------------------------------------------------------------------------------

def search(query: str, *, top_k: int | None, tags: Sequence[str] | None, kinds: Sequence[str] | None,
           tiers: Sequence[str] | None, collapse: bool | None, since: datetime | str | None,
           until: datetime | str | None, max_memories: int | None, max_tokens: int | None,
           ranking: RankingIn | Mapping[str, Any] | None, cubes: Sequence[str] | None) -> Call[SearchOut]:
    body = body_of(query=query, top_k=top_k, tags=tags, kinds=kinds, tiers=tiers, collapse=collapse, since=since,
                   until=until, max_memories=max_memories, max_tokens=max_tokens, ranking=ranking, cubes=cubes)
    return Call(SEARCH, model(SearchOut), json=body)


# --- episodes, skills, feedback, links -----------------------------------------------------------

def open_episode(task: str, *, episode_id: str | None, cube: str | None) -> Call[EpisodeOut]:
    return Call(OPEN_EPISODE, model(EpisodeOut), json=body_of(task=task, id=episode_id, cube=cube))


def get_episode(episode_id: str, *, cube: str | None) -> Call[EpisodeOut]:
    return Call(GET_EPISODE, model(EpisodeOut), {"episode_id": episode_id}, {"cube": cube})


def close_episode(episode_id: str, outcome: str, *, cube: str | None) -> Call[EpisodeOut]:
    return Call(CLOSE_EPISODE, model(EpisodeOut), {"episode_id": episode_id}, {"cube": cube}, {"outcome": outcome})


def list_skills(*, cube: str | None) -> Call[list[SkillOut]]:
    return Call(LIST_SKILLS, model(list[SkillOut]), params={"cube": cube})


def get_skill(skill_id: str, *, version: int | None, cube: str | None) -> Call[SkillOut]:
    return Call(GET_SKILL, model(SkillOut), {"skill_id": skill_id}, {"version": version, "cube": cube})


def skill_tool(skill_id: str, *, cube: str | None) -> Call[SkillTool]:
    return Call(SKILL_TOOL, model(SkillTool), {"skill_id": skill_id}, {"cube": cube})


def render_skill(skill_id: str, params: Mapping[str, Any] | None, *, cube: str | None) -> Call[RenderedSkill]:
    return Call(RENDER_SKILL, model(RenderedSkill), {"skill_id": skill_id}, {"cube": cube},
                {"params": jsonable(dict(params or {}))})


def feedback(memory_id: str, signal: str, *, correction: str | None, note: str | None,
             cube: str | None) -> Call[FeedbackOut]:
    body = body_of(memory_id=memory_id, signal=signal, correction=correction, note=note, cube=cube)
    return Call(FEEDBACK, model(FeedbackOut), json=body)


def link(src: str, dst: str, link_type: str, *, metadata: Mapping[str, Any] | None, cube: str | None) -> Call[LinkOut]:
    return Call(LINK, model(LinkOut), json=body_of(src=src, dst=dst, type=link_type, metadata=metadata, cube=cube))


# --- cubes, members, mounts, audit ---------------------------------------------------------------

def create_cube(name: str, *, description: str | None) -> Call[CubeOut]:
    return Call(CREATE_CUBE, model(CubeOut), json=body_of(name=name, description=description))


def list_cubes() -> Call[list[CubeOut]]:
    return Call(LIST_CUBES, model(list[CubeOut]))


def get_cube(cube_id: str) -> Call[CubeOut]:
    return Call(GET_CUBE, model(CubeOut), {"cube_id": cube_id})


def update_cube(cube_id: str, *, name: str | None, description: str | None) -> Call[CubeOut]:
    return Call(UPDATE_CUBE, model(CubeOut), {"cube_id": cube_id}, json=body_of(name=name, description=description))


def delete_cube(cube_id: str) -> Call[None]:
    return Call(DELETE_CUBE, nothing, {"cube_id": cube_id})


def members(cube_id: str) -> Call[list[MemberOut]]:
    return Call(MEMBERS, model(list[MemberOut]), {"cube_id": cube_id})


def grant(cube_id: str, agent: str, role: str) -> Call[MemberOut]:
    return Call(GRANT, model(MemberOut), {"cube_id": cube_id}, json={"agent": agent, "role": role})


def revoke(cube_id: str, agent: str) -> Call[None]:
    return Call(REVOKE, nothing, {"cube_id": cube_id, "agent": agent})


def export(cube_id: str, *, format: str) -> Call[None]:
    """Streamed by the clients (`Memos.stream`), never read whole: `parse` is not used."""
    return Call(EXPORT, nothing, {"cube_id": cube_id}, {"format": format})


def mounts() -> Call[list[CubeOut]]:
    return Call(MOUNTS, model(list[CubeOut]))


def mount(cube_id: str) -> Call[CubeOut]:
    return Call(MOUNT, model(CubeOut), json={"cube": cube_id})


def unmount(cube_id: str) -> Call[None]:
    return Call(UNMOUNT, nothing, {"cube_id": cube_id})


def audit(*, cube: str | None, before: int | None, limit: int | None) -> Call[AuditPage]:
    return Call(AUDIT, model(AuditPage), params={"cube": cube, "before": before, "limit": limit})


# --- jobs and admin ------------------------------------------------------------------------------

def job(job_id: str) -> Call[Job]:
    return Call(JOB, model(Job), {"job_id": job_id})


def reindex(*, reembed: bool, everything: bool) -> Call[ReindexAccepted]:
    return Call(REINDEX, model(ReindexAccepted), json={"reembed": reembed, "all": everything})


FINISHED = ("done", "failed")
