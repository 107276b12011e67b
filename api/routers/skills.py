"""/v1/skills: list skills, read a version, use one as a tool definition or a filled procedure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, RuntimeDep
from api.schemas import ErrorOut, RenderIn

router = APIRouter(
    prefix="/v1/skills", tags=["skills"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
CubeQuery = Annotated[str | None, Query(max_length=200)]


@router.get("")
def list_skills(rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> list:
    """The latest version of every skill in your cube and mounts (or in `cube`)."""
    return rt.skills.list(caller, cube)


@router.get("/{skill_id}")
def get_skill(
    skill_id: str, rt: RuntimeDep, caller: CallerDep,
    version: Annotated[int | None, Query(ge=1)] = None, cube: CubeQuery = None,
) -> dict:
    return rt.skills.get(caller, skill_id, version, cube)


@router.get("/{skill_id}/tool")
def skill_tool(skill_id: str, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """The skill as a callable tool: an OpenAI function definition and an MCP tool definition."""
    return rt.skills.tool(caller, skill_id, cube)


@router.post("/{skill_id}/render")
def render_skill(skill_id: str, body: RenderIn, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """The procedure with `params` filled in (checked against the skill's JSON Schema)."""
    return rt.skills.render(caller, skill_id, body.params, cube)
