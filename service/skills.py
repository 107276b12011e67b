"""Skills: list them, read a version, and use them as a tool definition or a filled procedure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.access import Caller
from pipeline.crystallize.render import render_skill, skill_tool_definition
from pipeline.crystallize.skill import Skill
from pipeline.errors import NotFound
from service.access import Access
from service.locate import CubeLocator
from storage.read_side import ReadSide
from storage.cube.reader import CubeReader
from storage.registry import Cube


def skill_view(skill: Mapping[str, Any], cube: str) -> dict[str, Any]:
    keep = ("id", "version", "name", "tool_name", "description", "when_to_use", "steps", "parameters",
            "success_rate", "runs", "successes", "examples", "failures", "task_pattern")
    return {**{k: skill[k] for k in keep}, "cube": cube}


class SkillService:
    def __init__(self, access: Access, locate: CubeLocator, read: ReadSide) -> None:
        self._access, self._locate, self._read = access, locate, read

    def list(self, caller: Caller, cube_id: str | None) -> list[dict[str, Any]]:
        """Skills of the named cube, or of the cubes searched by default (own cube and mounts)."""
        cubes = self._access.search_cubes(caller, [cube_id] if cube_id else None)
        out: list[dict[str, Any]] = []
        for cube in cubes:
            with self._read.cube(cube.id) as store:
                out += [skill_view(s, cube.id) for s in (store.skills() if store is not None else [])]
        return out

    def get(self, caller: Caller, skill_id: str, version: int | None, cube_id: str | None) -> dict[str, Any]:
        cube, skill = self._skill(caller, skill_id, version, cube_id)
        return skill_view(skill.to_dict(), cube.id)

    def tool(self, caller: Caller, skill_id: str, cube_id: str | None) -> dict[str, Any]:
        _, skill = self._skill(caller, skill_id, None, cube_id)
        definitions = skill_tool_definition(skill)
        return {"openai": definitions.openai, "mcp": definitions.mcp}

    def render(self, caller: Caller, skill_id: str, params: Mapping[str, Any], cube_id: str | None) -> dict[str, Any]:
        cube, skill = self._skill(caller, skill_id, None, cube_id)
        rendered = render_skill(skill, params)
        return {"id": skill.id, "version": skill.version, "cube": cube.id, "markdown": rendered.markdown,
                "steps": list(rendered.steps)}

    def _skill(self, caller: Caller, skill_id: str, version: int | None, cube_id: str | None) -> tuple[Cube, Skill]:
        def probe(cube: Cube, store: CubeReader | None) -> Skill | None:
            current = store.get(skill_id) if store is not None else None
            if current is None or current.tier != "skill":
                return None
            data = store.skill_version(skill_id, version if version is not None else current.version)
            if data is None:
                raise NotFound(f"skill {skill_id} has no version {version}")
            return Skill.from_dict(data)

        found = self._locate.first(caller, cube_id, probe)
        if found is None:
            raise NotFound(f"skill {skill_id[:80]} does not exist")
        return found
