"""/v1/cubes, /v1/mounts, /v1/audit: cubes, their members and roles, mounts, and the audit log."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import (
    AGENT_ID_PATTERN, CALLER_ERRORS, CUBE_ID_PATTERN, JSON_INT_MAX, AuditPage, CubeIn, CubeOut, CubePatch, MemberIn,
    MemberOut, MountIn, error_responses,
)
from pipeline.access import Role

router = APIRouter(
    prefix="/v1", tags=["cubes"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 403, 404),
)
# Ids in the path are not refused by pattern: a path naming a cube or agent that cannot exist is a 404.
CubeIdPath = Annotated[str, Path(json_schema_extra={"pattern": CUBE_ID_PATTERN})]
AgentPath = Annotated[str, Path(json_schema_extra={"pattern": AGENT_ID_PATTERN})]
EXPORT_TYPES = {"jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}


@router.post("/cubes", status_code=201, response_model=CubeOut, responses=error_responses(413))
def create_cube(body: CubeIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Create a knowledge-base cube; you are its owner (admin)."""
    return rt.cubes.create(caller, body.name, body.description)


@router.get("/cubes", response_model=list[CubeOut])
def list_cubes(rt: RuntimeDep, caller: CallerDep) -> list:
    """Your own cube and every cube you hold a role on (an admin key sees all)."""
    return rt.cubes.list(caller)


@router.get("/cubes/{cube_id}", response_model=CubeOut)
def get_cube(cube_id: CubeIdPath, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.cubes.get(caller, cube_id)


@router.patch("/cubes/{cube_id}", response_model=CubeOut, responses=error_responses(413))
def patch_cube(cube_id: CubeIdPath, body: CubePatch, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.cubes.update(caller, cube_id, body.name, body.description)


@router.delete("/cubes/{cube_id}", status_code=204, responses=error_responses(409))
def delete_cube(cube_id: CubeIdPath, rt: RuntimeDep, caller: CallerDep) -> Response:
    """Delete a knowledge-base cube, its file and its index entries (owner or admin key)."""
    rt.cubes.delete(caller, cube_id)
    return Response(status_code=204)


@router.get("/cubes/{cube_id}/members", response_model=list[MemberOut])
def list_members(cube_id: CubeIdPath, rt: RuntimeDep, caller: CallerDep) -> list:
    return rt.cubes.members(caller, cube_id)


@router.post("/cubes/{cube_id}/members", status_code=201, response_model=MemberOut,
             responses=error_responses(409, 413))
def grant(cube_id: CubeIdPath, body: MemberIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Grant (or change) an agent's role on the cube; needs admin on the cube."""
    return rt.cubes.grant(caller, cube_id, body.agent, Role.parse(body.role))


@router.delete("/cubes/{cube_id}/members/{agent}", status_code=204, responses=error_responses(409))
def revoke(cube_id: CubeIdPath, agent: AgentPath, rt: RuntimeDep, caller: CallerDep) -> Response:
    """Take an agent's role away (and its mount of the cube)."""
    rt.cubes.revoke(caller, cube_id, agent)
    return Response(status_code=204)


@router.get(
    "/cubes/{cube_id}/export",
    response_class=StreamingResponse,
    responses={200: {"description": "The memories, one JSON object a line (jsonl), or a Parquet file.",
                     "content": {media: {"schema": {"type": "string", "format": "binary"}}
                                 for media in EXPORT_TYPES.values()}}},
)
def export_cube(
    cube_id: CubeIdPath, rt: RuntimeDep, caller: CallerDep, format: Literal["jsonl", "parquet"] = "jsonl"
) -> StreamingResponse:
    """Every memory of the cube as JSON lines, or as a Parquet file (the whole cube with its
    history, links and episodes: `GET /v1/export`)."""
    media_type, body = rt.cubes.export(caller, cube_id, format)
    filename = f"{cube_id}.{'jsonl' if format == 'jsonl' else 'parquet'}"
    # The first chunk is made before the answer starts: a failure there is an error status, not a 200 cut short.
    first = next(body, b"")
    return StreamingResponse(itertools.chain([first], body), media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/mounts", response_model=list[CubeOut])
def list_mounts(rt: RuntimeDep, caller: CallerDep) -> list:
    """Cubes searched by default beside your own."""
    return rt.cubes.mounts(caller)


@router.post("/mounts", status_code=201, response_model=CubeOut, responses=error_responses(409, 413))
def mount(body: MountIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.cubes.mount(caller, body.cube)


@router.delete("/mounts/{cube_id}", status_code=204)
def unmount(cube_id: CubeIdPath, rt: RuntimeDep, caller: CallerDep) -> Response:
    rt.cubes.unmount(caller, cube_id)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPage)
def audit(
    rt: RuntimeDep,
    caller: CallerDep,
    cube: Annotated[str | None, Query(pattern=CUBE_ID_PATTERN)] = None,
    before: Annotated[int | None, Query(ge=1, le=JSON_INT_MAX, description="A `next_before` from before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    """Grants, revokes, shares, mounts and cube changes, newest first; page with `next_before`."""
    return rt.cubes.audit(caller, cube, before, limit)
