"""/v1/skills: list skills, read a version, use one as a tool definition or a filled procedure."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, CUBE_ID_PATTERN, JSON_INT_MAX, MEMORY_ID_PATTERN, RenderIn, error_responses

router = APIRouter(
    prefix="/v1/skills", tags=["skills"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 404),
)
CubeQuery = Annotated[str | None, Query(pattern=CUBE_ID_PATTERN)]
SkillIdPath = Annotated[str, Path(json_schema_extra={"pattern": MEMORY_ID_PATTERN})]  # else 404, not refused


@router.get("")
def list_skills(rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None,
                scope: Literal["local", "team", "all"] = "local") -> list:
    """The latest version of every skill in your cube and mounts (or in `cube`); `scope=team`: the
    skills shared with this server's teams (docs/team.md), `all`: both."""
    return rt.team.scoped_skills(scope, lambda: rt.skills.list(caller, cube))


@router.get("/{skill_id}")
def get_skill(
    skill_id: SkillIdPath, rt: RuntimeDep, caller: CallerDep,
    version: Annotated[int | None, Query(ge=1, le=JSON_INT_MAX)] = None, cube: CubeQuery = None,
) -> dict:
    return rt.skills.get(caller, skill_id, version, cube)


@router.get("/{skill_id}/tool")
def skill_tool(skill_id: SkillIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """The skill as a callable tool: an OpenAI function definition and an MCP tool definition."""
    return rt.skills.tool(caller, skill_id, cube)


@router.post("/{skill_id}/render", responses=error_responses(413))
def render_skill(skill_id: SkillIdPath, body: RenderIn, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """The procedure with `params` filled in (checked against the skill's JSON Schema)."""
    return rt.skills.render(caller, skill_id, body.params, cube)
