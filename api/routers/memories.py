"""/v1/memories: accept writes (202, or 201 with ?wait=true), read, list, patch, delete, share, timeline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.image_upload import MULTIPART_SCHEMA, MemoryWriteRoute
from api.memory_input import accept_status, expiry_ms, new_memory
from api.schemas import (
    CALLER_ERRORS,
    CUBE_ID_PATTERN,
    MEMORY_ID_PATTERN,
    Accepted,
    BatchAccepted,
    BatchIn,
    Memory,
    MemoryIn,
    MemoryPage,
    MemoryPatch,
    ShareIn,
    Timeline,
    error_responses,
)
from pipeline.records import Kind
from service.memories import MemoryChanges
from storage.cube.reader import CURSOR_PATTERN

router = APIRouter(
    prefix="/v1/memories", tags=["memories"], route_class=JsonRoute,
    responses=error_responses(*CALLER_ERRORS, 404),  # 404: a cube you hold no role on, or an unknown memory
)

WaitQuery = Annotated[bool, Query(description="Answer once the write is searchable (read-your-writes).")]
CubeQuery = Annotated[str | None, Query(pattern=CUBE_ID_PATTERN, description="The cube (default: found among yours).")]
# Ids in the path are not refused by pattern: a path naming a memory that cannot exist is a 404.
MemoryIdPath = Annotated[str, Path(json_schema_extra={"pattern": MEMORY_ID_PATTERN})]


async def create_memory(body: MemoryIn, rt: RuntimeDep, caller: CallerDep, wait: WaitQuery = False) -> JSONResponse:
    """Durably accept one memory. 202 `{id, job_id, status: "queued"}`; with `?wait=true`, 201 and the memory.
    An image comes as base64 in `image` or as the multipart part `file` (docs/images.md)."""
    accepted = await rt.memories.add(caller, new_memory(body), wait)
    return JSONResponse(accepted.body(), status_code=accept_status(accepted))


# Registered by hand for its route class: a multipart body (an image upload) goes to api/image_upload.py.
router.add_api_route(
    "", create_memory, methods=["POST"], status_code=202, response_model=Accepted | Memory,
    responses={201: {"model": Memory}, 200: {"model": Accepted}, **error_responses(403, 413, 415)},
    route_class_override=MemoryWriteRoute,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": MULTIPART_SCHEMA}}}},
)


@router.post("/batch", status_code=202, response_model=BatchAccepted,
             responses={200: {"model": BatchAccepted}, **error_responses(403, 413, 415)})
async def create_batch(body: BatchIn, rt: RuntimeDep, caller: CallerDep, wait: WaitQuery = False) -> JSONResponse:
    """Accept up to `max_batch_items` memories as one job."""
    out = await rt.memories.add_batch(caller, [new_memory(item, body.cube) for item in body.items], wait)
    return JSONResponse(out, status_code=202 if out["status"] == "queued" else 200)


@router.get("", response_model=MemoryPage)
def list_memories(
    rt: RuntimeDep,
    caller: CallerDep,
    cube: CubeQuery = None,
    tag: Annotated[str | None, Query(max_length=128)] = None,
    kind: Kind | None = None,
    tier: Literal["trace", "world", "skill"] | None = None,
    status: Annotated[str, Query(pattern="^(active|duplicate|superseded|archived|all)$")] = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, description="A `next_cursor` from before.")] = None,
) -> dict:
    """Newest first, in one cube (default: your own); pass `next_cursor` back as `cursor`."""
    return rt.memories.list(
        caller, cube_id=cube, limit=limit, cursor=cursor, tag=tag, kind=kind.value if kind else None,
        status=None if status == "all" else status, tier=tier,
    )


@router.get("/{memory_id}", response_model=Memory)
def get_memory(memory_id: MemoryIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    return rt.memories.get(caller, memory_id, cube)


@router.patch(
    "/{memory_id}",
    response_model=Memory | Accepted,
    responses={202: {"model": Accepted}, **error_responses(403, 409, 413)},
)
async def patch_memory(
    memory_id: MemoryIdPath, body: MemoryPatch, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None
) -> JSONResponse:
    """Change content, kind, tags, metadata or expiry; new content is re-embedded. The old version is kept."""
    changes = MemoryChanges(
        content=body.content,
        kind=body.kind,
        tags=tuple(body.tags) if body.tags is not None else None,
        metadata=body.metadata,
        version=body.version,
        set_expiry="expires_at" in body.model_fields_set or body.ttl_s is not None,
        expires_at=expiry_ms(body.expires_at, body.ttl_s),
    )
    accepted = await rt.memories.update(caller, memory_id, changes, cube)
    return JSONResponse(accepted.body(), status_code=200 if accepted.memory is not None else 202)


@router.delete(
    "/{memory_id}",
    status_code=204,
    responses={202: {"model": Accepted}, **error_responses(403)},
)
async def delete_memory(memory_id: MemoryIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> Response:
    """Remove the memory from its cube and from every index."""
    accepted = await rt.memories.delete(caller, memory_id, cube)
    if accepted.status != "done":
        return JSONResponse(accepted.body(), status_code=202)
    return Response(status_code=204)


@router.post(
    "/{memory_id}/share",
    status_code=201,
    response_model=Memory,
    responses={202: {"model": Accepted}, **error_responses(403, 413)},
)
async def share_memory(memory_id: MemoryIdPath, body: ShareIn, rt: RuntimeDep, caller: CallerDep) -> JSONResponse:
    """Copy a memory you can read into a cube you can write; the copy links back to the original."""
    accepted = await rt.memories.share(caller, memory_id, body.to, body.from_cube)
    return JSONResponse(accepted.body(), status_code=201 if accepted.memory is not None else 202)


@router.get("/{memory_id}/timeline", response_model=Timeline)
def timeline(
    memory_id: MemoryIdPath,
    rt: RuntimeDep,
    caller: CallerDep,
    before: Annotated[int, Query(ge=0, le=100, description="Turns before it.")] = 3,
    after: Annotated[int, Query(ge=0, le=100, description="Turns after it.")] = 3,
    cube: CubeQuery = None,
) -> dict:
    """The exchange a memory came from: it and its neighbouring turns of the same conversation or episode."""
    return rt.memories.timeline(caller, memory_id, before, after, cube)

