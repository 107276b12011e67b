"""/v1/memories/{id}/graph and /history: what is linked to a memory, and every version of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, RuntimeDep
from api.schemas import ErrorOut

router = APIRouter(
    prefix="/v1/memories", tags=["graph"],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
CubeQuery = Annotated[str | None, Query(max_length=200, description="The cube (default: found among yours).")]


@router.get("/{memory_id}/history")
def history(memory_id: str, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """Every version, oldest first; the facts this one superseded and those that superseded it; feedback."""
    return rt.graph.history(caller, memory_id, cube)


@router.get("/{memory_id}/graph")
def graph(
    memory_id: str,
    rt: RuntimeDep,
    caller: CallerDep,
    depth: Annotated[int, Query(ge=1, le=5)] = 1,
    types: Annotated[str | None, Query(max_length=400, description="Comma-separated link types.")] = None,
    cube: CubeQuery = None,
) -> dict:
    """Nodes and edges within `depth` links of the memory, in both directions."""
    wanted = {t.strip() for t in types.split(",") if t.strip()} if types else None
    return rt.graph.graph(caller, memory_id, depth, wanted, cube)
