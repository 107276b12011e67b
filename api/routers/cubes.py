"""/v1/cubes, /v1/mounts, /v1/audit: cubes, their members and roles, mounts, and the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from api.deps import CallerDep, RuntimeDep
from api.schemas import AuditPage, CubeIn, CubeOut, CubePatch, ErrorOut, MemberIn, MemberOut, MountIn
from pipeline.access import Role

router = APIRouter(
    prefix="/v1",
    tags=["cubes"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("/cubes", status_code=201, response_model=CubeOut)
def create_cube(body: CubeIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Create a knowledge-base cube; you are its owner (admin)."""
    return rt.cubes.create(caller, body.name, body.description)


@router.get("/cubes", response_model=list[CubeOut])
def list_cubes(rt: RuntimeDep, caller: CallerDep) -> list:
    """Your own cube and every cube you hold a role on (an admin key sees all)."""
    return rt.cubes.list(caller)


@router.get("/cubes/{cube_id}", response_model=CubeOut)
def get_cube(cube_id: str, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.cubes.get(caller, cube_id)


@router.patch("/cubes/{cube_id}", response_model=CubeOut)
def patch_cube(cube_id: str, body: CubePatch, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.cubes.update(caller, cube_id, body.name, body.description)


@router.delete("/cubes/{cube_id}", status_code=204, responses={409: {"model": ErrorOut}})
def delete_cube(cube_id: str, rt: RuntimeDep, caller: CallerDep) -> Response:
    """Delete a knowledge-base cube, its file and its index entries (owner or admin key)."""
    rt.cubes.delete(caller, cube_id)
    return Response(status_code=204)


@router.get("/cubes/{cube_id}/members", response_model=list[MemberOut])
def list_members(cube_id: str, rt: RuntimeDep, caller: CallerDep) -> list:
    return rt.cubes.members(caller, cube_id)


@router.post("/cubes/{cube_id}/members", status_code=201, response_model=MemberOut,
             responses={409: {"model": ErrorOut}})
def grant(cube_id: str, body: MemberIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Grant (or change) an agent's role on the cube; needs admin on the cube."""
    return rt.cubes.grant(caller, cube_id, body.agent, Role.parse(body.role))


@router.delete("/cubes/{cube_id}/members/{agent}", status_code=204, responses={409: {"model": ErrorOut}})
def revoke(cube_id: str, agent: str, rt: RuntimeDep, caller: CallerDep) -> Response:
    """Take an agent's role away (and its mount of the cube)."""
    rt.cubes.revoke(caller, cube_id, agent)
    return Response(status_code=204)


@router.get("/cubes/{cube_id}/export")
def export_cube(
    cube_id: str, rt: RuntimeDep, caller: CallerDep, format: Literal["jsonl", "parquet"] = "jsonl"
) -> StreamingResponse:
    """Every memory of the cube as JSON lines, or as a Parquet file."""
    media_type, body = rt.cubes.export(caller, cube_id, format)
    filename = f"{cube_id}.{'jsonl' if format == 'jsonl' else 'parquet'}"
    return StreamingResponse(body, media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/mounts", response_model=list[CubeOut])
def list_mounts(rt: RuntimeDep, caller: CallerDep) -> list:
    """Cubes searched by default beside your own."""
    return rt.cubes.mounts(caller)


@router.post("/mounts", status_code=201, response_model=CubeOut, responses={409: {"model": ErrorOut}})
def mount(body: MountIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.cubes.mount(caller, body.cube)


@router.delete("/mounts/{cube_id}", status_code=204)
def unmount(cube_id: str, rt: RuntimeDep, caller: CallerDep) -> Response:
    rt.cubes.unmount(caller, cube_id)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPage)
def audit(
    rt: RuntimeDep,
    caller: CallerDep,
    cube: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    """Grants, revokes, shares, mounts and cube changes, newest first; page with `next_before`."""
    return rt.cubes.audit(caller, cube, before, limit)
