"""Skills: success rate, runs and version; one skill's steps, parameter schema, every version, the
episodes it came from, a form that renders it with parameters, and its OpenAI / MCP tool JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.web.page import PageRoute, UiDep
from pipeline.errors import Invalid, InvalidParams
from pipeline.ids import MEMORY_ID

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CubeQuery = Annotated[str | None, Query(max_length=200)]
PARAM = "param."  # query fields of the render form: param.<name>


@router.get("/ui/skills")
def skills_page(ui: UiDep, cube: CubeQuery = None) -> Response:
    skills = sorted(ui.rt.skills.list(ui.caller, cube or None), key=lambda s: (s["name"].casefold(), s["id"]))
    cubes = [c for c in ui.rt.cubes.list(ui.caller) if c["role"] is not None]
    return ui.page("skills.html", "Skills", title="Skills", skills=skills, cubes=cubes, cube=cube or "")


@router.get("/ui/skills/{skill_id}")
def skill_page(
    ui: UiDep, skill_id: Annotated[str, Path(pattern=f"^{MEMORY_ID.pattern}$")], cube: CubeQuery = None,
    version: Annotated[int | None, Query(ge=1)] = None, render: bool = False,
) -> Response:
    rt, caller = ui.rt, ui.caller
    latest = rt.skills.get(caller, skill_id, None, cube or None)
    shown = rt.skills.get(caller, skill_id, version, latest["cube"]) if version is not None else latest
    versions = [rt.skills.get(caller, skill_id, v, latest["cube"]) for v in range(1, latest["version"] + 1)]
    tool = rt.skills.tool(caller, skill_id, latest["cube"])
    properties: dict[str, Any] = (latest["parameters"] or {}).get("properties", {})
    given = {k[len(PARAM):]: v for k, v in ui.request.query_params.items() if k.startswith(PARAM)}
    rendered, problems = None, []
    if render:
        try:
            rendered = rt.skills.render(caller, skill_id, _typed(given, properties), latest["cube"])
        except InvalidParams as exc:
            problems = exc.problems or [exc.message]
        except Invalid as exc:
            problems = [exc.message]
    return ui.page("skill.html", "Skills", title="Skill", skill=shown, latest=latest, versions=versions, tool=tool,
                   properties=properties, required=set((latest["parameters"] or {}).get("required", [])),
                   given=given, rendered=rendered, problems=problems,
                   tool_json={"openai": json.dumps(tool["openai"], indent=2), "mcp": json.dumps(tool["mcp"], indent=2)})


def _typed(given: dict[str, str], properties: dict[str, Any]) -> dict[str, Any]:
    """The form's text as the schema's types; a value that is not one is passed on as text, and the
    skill's own schema check (SkillService.render) names what is wrong with it."""
    params: dict[str, Any] = {}
    for name, text in given.items():
        if text == "":
            continue
        kind = (properties.get(name) or {}).get("type")
        try:
            if kind == "integer":
                params[name] = int(text)
            elif kind == "number":
                params[name] = float(text)
            elif kind == "boolean":
                params[name] = text.lower() in ("true", "1", "yes", "on")
            elif kind in ("array", "object"):
                params[name] = json.loads(text)
            else:
                params[name] = text
        except ValueError:
            params[name] = text
    return params
