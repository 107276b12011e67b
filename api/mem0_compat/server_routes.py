"""/mem0/...: the routes of mem0's self-hosted REST server (mem0ai/mem0 server/main.py), same shapes.

They follow mem0's contract, not ours, so they stay out of the OpenAPI document; errors keep the
house shape `{"error": {"code", "message"}}`. What each call does is api/mem0_compat/memories.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import RuntimeDep
from api.mem0_compat.bodies import EntityQuery, Loose, Message
from api.mem0_compat.caller import Mem0CallerDep
from api.mem0_compat.memories import Mem0Memories
from api.mem0_compat.scopes import ENTITIES, flat_filter, parse_filters
from pipeline.errors import Invalid

router = APIRouter(prefix="/mem0", include_in_schema=False)

LIST_LIMIT = 1000  # mem0's ALL_MEMORIES_LIMIT
# Everything mem0 has stored for one agent: any memory written with one of the entity ids.
EVERY_SCOPE = {"OR": [{name: "*"} for name in ENTITIES]}


class MemoryCreate(Loose):
    messages: list[Message]
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any] | None = None
    expiration_date: str | None = None
    infer: bool | None = None  # accepted; MemOS never runs an LLM on a write


class MemoryUpdate(Loose):
    text: str | None = None
    metadata: dict[str, Any] | None = None
    expiration_date: str | None = None


class SearchBody(Loose):
    query: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    filters: dict[str, Any] | None = None
    top_k: int | None = None
    threshold: float | None = None
    show_expired: bool | None = None


@router.post("/memories")
async def add_memories(body: MemoryCreate, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    _, results = await Mem0Memories(rt, caller).add(
        [m.model_dump() for m in body.messages], body.model_dump(include=set(ENTITIES)), body.metadata,
        body.expiration_date)
    return {"results": [{k: r[k] for k in ("id", "memory", "event")} for r in results]}


@router.get("/memories")
async def get_all_memories(
    rt: RuntimeDep, caller: Mem0CallerDep, user_id: EntityQuery = None, run_id: EntityQuery = None,
    agent_id: EntityQuery = None, top_k: Annotated[int | None, Query(ge=0, le=LIST_LIMIT)] = None,
    show_expired: bool = False,
) -> dict:
    """Memories of the given user, agent or run; with none named, every memory of your own cube."""
    ids = {"user_id": user_id, "run_id": run_id, "agent_id": agent_id}
    scope = flat_filter(ids) if any(ids.values()) else None
    found = await Mem0Memories(rt, caller).list(scope, show_expired)
    return {"results": found[: top_k if top_k is not None else LIST_LIMIT]}


@router.get("/memories/{memory_id}")
def get_memory(memory_id: str, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    return Mem0Memories(rt, caller).get(memory_id)


@router.post("/search")
def search_memories(body: SearchBody, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    # As mem0's server does: top-level ids (deprecated there) join the filters.
    filters = {**(body.filters or {}), **body.model_dump(include=set(ENTITIES), exclude_none=True)}
    hits = Mem0Memories(rt, caller).search(body.query, parse_filters(filters), body.top_k or 10, body.threshold,
                                           bool(body.show_expired))
    return {"results": hits}


@router.put("/memories/{memory_id}")
async def update_memory(memory_id: str, body: MemoryUpdate, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    changes = body.model_dump(include={"metadata", "expiration_date"} & body.model_fields_set)
    await Mem0Memories(rt, caller).update(memory_id, body.text, changes)
    return {"message": "Memory updated successfully!"}


@router.get("/memories/{memory_id}/history")
def memory_history(memory_id: str, rt: RuntimeDep, caller: Mem0CallerDep) -> list:
    return Mem0Memories(rt, caller).history(memory_id)


@router.delete("/memories/{memory_id}")
async def delete_memory(memory_id: str, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    await Mem0Memories(rt, caller).delete(memory_id)
    return {"message": "Memory deleted successfully"}


@router.delete("/memories")
async def delete_all_memories(rt: RuntimeDep, caller: Mem0CallerDep, user_id: EntityQuery = None,
                              run_id: EntityQuery = None, agent_id: EntityQuery = None) -> dict:
    ids = {"user_id": user_id, "run_id": run_id, "agent_id": agent_id}
    if not any(ids.values()):
        raise Invalid("at least one identifier (user_id, agent_id, run_id) is required")
    await Mem0Memories(rt, caller).delete_matching(flat_filter(ids))
    return {"message": "All relevant memories deleted"}


@router.post("/reset")
async def reset_memories(rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    """Deletes what was written through mem0's API in your own cube; memories written through /v1 stay."""
    await Mem0Memories(rt, caller).delete_matching(parse_filters(EVERY_SCOPE))
    return {"message": "All memories reset"}
