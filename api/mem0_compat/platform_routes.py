"""/mem0/v1/..., /mem0/v3/...: the platform API that mem0's Python `MemoryClient` (mem0ai 2.2.1) speaks,
so `MemoryClient(api_key=KEY, host="http://127.0.0.1:8765/mem0")` works unchanged.

Paths and shapes are the platform's (docs/openapi.json of mem0ai/mem0), trailing slashes included; the
routes stay out of our OpenAPI document. What each call does is api/mem0_compat/memories.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import RuntimeDep
from api.mem0_compat.bodies import EntityQuery, Loose, Message
from api.mem0_compat.caller import Mem0CallerDep
from api.mem0_compat.memories import Mem0Memories
from api.mem0_compat.scopes import ENTITIES, flat_filter, parse_filters
from pipeline.errors import Invalid

router = APIRouter(prefix="/mem0", include_in_schema=False)


class AddBody(Loose):
    messages: list[Message]
    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None
    filters: dict[str, Any] | None = None  # the 2.x client's AddMemoryOptions may name the ids here
    metadata: dict[str, Any] | None = None
    infer: bool | None = None  # accepted; MemOS never runs an LLM on a write
    expiration_date: str | None = None
    timestamp: int | None = None  # unix seconds: when it was said


class SearchBody(Loose):
    query: str
    filters: dict[str, Any] | None = None
    top_k: int | None = None
    threshold: float | None = None
    show_expired: bool | None = None
    user_id: Any = None  # refused: the v3 API takes entity ids only inside filters
    agent_id: Any = None
    app_id: Any = None
    run_id: Any = None


class ListBody(Loose):
    filters: dict[str, Any] | None = None
    show_expired: bool | None = None


class UpdateBody(Loose):
    text: str | None = None
    metadata: dict[str, Any] | None = None
    expiration_date: str | None = None


def _only_in_filters(body: SearchBody) -> None:
    named = [name for name in ENTITIES if getattr(body, name) is not None]
    if named:
        raise Invalid(f"{', '.join(named)} must be passed inside filters, e.g. filters={{\"{named[0]}\": \"...\"}}")


@router.get("/v1/ping/")
def ping(caller: Mem0CallerDep) -> dict:
    """The client calls this when it is built, to check the key; it refuses to start without an org and a
    project, so the key's agent stands in for the project (both are only used by mem0's own admin calls)."""
    return {"status": "ok", "org_id": "memos", "project_id": caller.agent, "user_email": None}


@router.post("/v3/memories/add/")
async def add_memories(body: AddBody, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    """Stored verbatim and searchable before the answer, so `status` is SUCCEEDED (PENDING only for a
    message still in the pipeline at the wait timeout)."""
    ids = {**({k: v for k, v in (body.filters or {}).items() if k in ENTITIES}),
           **body.model_dump(include=set(ENTITIES), exclude_none=True)}
    job_id, results = await Mem0Memories(rt, caller).add(
        [m.model_dump() for m in body.messages], ids, body.metadata, body.expiration_date, body.timestamp)
    pending = any(r["status"] == "queued" for r in results)
    return {"event_id": job_id, "status": "PENDING" if pending else "SUCCEEDED",
            "message": "Memories stored verbatim (MemOS runs no LLM on writes).",
            "results": [{k: r[k] for k in ("id", "memory", "event", "data")} for r in results]}


@router.post("/v3/memories/search/")
def search_memories(body: SearchBody, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    _only_in_filters(body)
    hits = Mem0Memories(rt, caller).search(body.query, parse_filters(body.filters), body.top_k or 10,
                                           body.threshold, bool(body.show_expired))
    return {"results": hits}


@router.post("/v3/memories/")
async def get_all_memories(
    body: ListBody, request: Request, rt: RuntimeDep, caller: Mem0CallerDep,
    page: Annotated[int, Query(ge=1)] = 1, page_size: Annotated[int, Query(ge=1, le=200)] = 100,
) -> dict:
    """One page of the memories the filters admit, newest first, in the platform's paginated envelope."""
    found = await Mem0Memories(rt, caller).list(parse_filters(body.filters), bool(body.show_expired))
    start = (page - 1) * page_size
    more = start + page_size < len(found)
    return {
        "count": len(found),
        "next": str(request.url.include_query_params(page=page + 1, page_size=page_size)) if more else None,
        "previous": str(request.url.include_query_params(page=page - 1, page_size=page_size)) if page > 1 else None,
        "results": found[start:start + page_size],
    }


@router.get("/v1/memories/{memory_id}/")
def get_memory(memory_id: str, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    return Mem0Memories(rt, caller).get(memory_id)


@router.put("/v1/memories/{memory_id}/")
async def update_memory(memory_id: str, body: UpdateBody, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    changes = body.model_dump(include={"metadata", "expiration_date"} & body.model_fields_set)
    return await Mem0Memories(rt, caller).update(memory_id, body.text, changes)


@router.delete("/v1/memories/{memory_id}/")
async def delete_memory(memory_id: str, rt: RuntimeDep, caller: Mem0CallerDep) -> dict:
    await Mem0Memories(rt, caller).delete(memory_id)
    return {"message": "Memory deleted successfully!"}


@router.get("/v1/memories/{memory_id}/history/")
def memory_history(memory_id: str, rt: RuntimeDep, caller: Mem0CallerDep) -> list:
    return Mem0Memories(rt, caller).history(memory_id)


@router.delete("/v1/memories/")
async def delete_all_memories(rt: RuntimeDep, caller: Mem0CallerDep, user_id: EntityQuery = None,
                              agent_id: EntityQuery = None, app_id: EntityQuery = None,
                              run_id: EntityQuery = None) -> dict:
    """Every memory of your own cube matching all the ids given (`*`: any value); at least one is needed."""
    ids = {"user_id": user_id, "agent_id": agent_id, "app_id": app_id, "run_id": run_id}
    if not any(ids.values()):
        raise Invalid("at least one filter (user_id, agent_id, app_id or run_id) is required; `*` matches any")
    deleted = await Mem0Memories(rt, caller).delete_matching(flat_filter(ids))
    return {"message": "Memories deleted successfully!", "deleted": deleted}
