"""Every active skill the caller can read, offered as an MCP tool of its own; calling it renders the skill.

A skill tool is named by the skill's own `tool_name` (what GET /v1/skills/{id}/tool calls it), made safe
for MCP and kept unique beside the fixed tools and the other skills; its schema is the skill's parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import mcp_types as types

from api.mcp_server.tools import FIXED_TOOLS, error_result, rendered_output, success_result
from pipeline.access import Caller
from pipeline.errors import MemosError, NotFound
from service.runtime import Runtime

NAME_MAX = 64  # the shortest limit among MCP clients in use (tool names are capped at 64 by several)
UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class SkillTool:
    name: str
    skill_id: str
    cube: str
    definition: types.Tool


def safe_tool_name(wanted: str, taken: Iterable[str]) -> str:
    """`wanted` with only [A-Za-z0-9_-], at most NAME_MAX long, and not one of `taken` (a `_2`… suffix)."""
    taken = set(taken)
    base = UNSAFE.sub("_", wanted)[:NAME_MAX] or "skill"
    name, n = base, 1
    while name in taken:
        n += 1
        suffix = f"_{n}"
        name = base[: NAME_MAX - len(suffix)] + suffix
    return name


def object_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """MCP requires `type: object` at a tool schema's root; a skill's parameters always are one."""
    return {"type": "object", **schema}


def build_skill_tools(rt: Runtime, caller: Caller) -> dict[str, SkillTool]:
    """The caller's skill tools by name, in the order the skill service lists the skills."""
    tools: dict[str, SkillTool] = {}
    for skill in rt.skills.list(caller, None):
        try:
            mcp = rt.skills.tool(caller, skill["id"], skill["cube"])["mcp"]
        except NotFound:  # retired between the listing and this read
            continue
        name = safe_tool_name(mcp["name"], [*FIXED_TOOLS, *tools])
        definition = types.Tool(
            name=name, title=skill["name"], description=mcp["description"],
            input_schema=object_schema(mcp["inputSchema"]),
            annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False),
        )
        tools[name] = SkillTool(name, skill["id"], skill["cube"], definition)
    return tools


async def skill_tools(rt: Runtime, caller: Caller) -> dict[str, SkillTool]:
    return await anyio.to_thread.run_sync(build_skill_tools, rt, caller)


async def call_skill(tool: SkillTool, rt: Runtime, caller: Caller, arguments: Mapping[str, Any]) -> types.CallToolResult:
    """The skill's procedure with `arguments` as its parameters: what to call, in order."""
    try:
        rendered = await anyio.to_thread.run_sync(rt.skills.render, caller, tool.skill_id, dict(arguments), tool.cube)
    except MemosError as exc:
        return error_result(exc.code, exc.message)
    return success_result(rendered_output(rendered))
