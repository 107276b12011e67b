"""/v1/memories/{id}/graph and /history: what is linked to a memory, and every version of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, CUBE_ID_PATTERN, MEMORY_ID_PATTERN, error_responses

router = APIRouter(
    prefix="/v1/memories", tags=["graph"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 404),
)
CubeQuery = Annotated[str | None, Query(pattern=CUBE_ID_PATTERN, description="The cube (default: found among yours).")]
MemoryIdPath = Annotated[str, Path(json_schema_extra={"pattern": MEMORY_ID_PATTERN})]  # else 404, not refused


@router.get("/{memory_id}/history")
def history(memory_id: MemoryIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """Every version, oldest first; the facts this one superseded and those that superseded it; feedback."""
    return rt.graph.history(caller, memory_id, cube)


@router.get("/{memory_id}/graph")
def graph(
    memory_id: MemoryIdPath,
    rt: RuntimeDep,
    caller: CallerDep,
    depth: Annotated[int, Query(ge=1, le=5)] = 1,
    types: Annotated[str | None, Query(max_length=400, description="Comma-separated link types.")] = None,
    cube: CubeQuery = None,
) -> dict:
    """Nodes and edges within `depth` links of the memory, in both directions."""
    wanted = {t.strip() for t in types.split(",") if t.strip()} if types else None
    return rt.graph.graph(caller, memory_id, depth, wanted, cube)
