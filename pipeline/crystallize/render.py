"""Callable forms of a skill: the procedure with params filled in, and OpenAI and MCP tool definitions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.crystallize.skill import Skill
from pipeline.crystallize.template import canon, fill_steps
from pipeline.errors import InvalidParams


@dataclass(frozen=True)
class RenderedSkill:
    markdown: str
    steps: tuple[dict[str, Any], ...]  # [{"tool": ..., "arguments": {...}}] with params filled in


@dataclass(frozen=True)
class ToolDefinitions:
    openai: dict[str, Any]  # {"type": "function", "function": {name, description, parameters}}
    mcp: dict[str, Any]  # {"name", "description", "inputSchema"}


def render_skill(skill: Skill, params: Mapping[str, Any]) -> RenderedSkill:
    """The procedure an agent follows, with `params` filled in; bad params raise InvalidParams."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(skill.parameters)
    problems = sorted(
        (f"{'.'.join(str(p) for p in e.absolute_path) or 'params'}: {e.message}" for e in validator.iter_errors(params)),
    )
    if problems:
        raise InvalidParams(f"params for skill {skill.id} v{skill.version} are invalid: " + "; ".join(problems),
                            problems)
    steps = fill_steps(skill.steps, params)
    lines = [f"# {skill.name}", "", skill.description, "", skill.when_to_use, ""]
    if params:
        lines += ["## Parameters", ""] + [f"- `{k}` = `{canon(params[k])}`" for k in sorted(params)] + [""]
    lines += ["## Steps", ""]
    for k, step in enumerate(steps, 1):
        lines.append(f"{k}. Call `{step['tool']}` with `{canon(step['arguments'])}`")
    return RenderedSkill("\n".join(lines) + "\n", tuple(steps))


def skill_tool_definition(skill: Skill) -> ToolDefinitions:
    """The skill as a callable tool: an OpenAI function definition and an MCP tool definition."""
    description = f"{skill.description} {skill.when_to_use}"[:1024]
    schema = json.loads(json.dumps(skill.parameters))  # a copy the caller may change
    return ToolDefinitions(
        openai={"type": "function", "function": {"name": skill.tool_name, "description": description,
                                                 "parameters": schema}},
        mcp={"name": skill.tool_name, "description": description, "inputSchema": json.loads(json.dumps(schema))},
    )
