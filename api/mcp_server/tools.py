"""The fixed MCP tools: each one's arguments (a pydantic model whose JSON Schema the tool advertises), a
one-line description an LLM can act on, and the one service call it makes for the calling agent.

Argument types come from the HTTP API's schemas (api/schemas.py), so a tool refuses exactly what the
matching route refuses; access checks are the services' own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio.to_thread
import mcp_types as types
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from api.memory_input import new_memory
from api.schemas import ClientKind, Content, CubeId, MemoryId, MemoryIn, Tag
from pipeline.access import Caller
from pipeline.errors import Invalid, MemosError
from pipeline.ranking.budget import Budget
from pipeline.records import Kind
from service.hybrid_search import SearchRequest
from service.runtime import Runtime

log = logging.getLogger(__name__)


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchMemoryArgs(Args):
    query: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="What to look for, in plain words.")
    top_k: int = Field(10, ge=1, le=100, description="How many memories to return at most.")
    cubes: list[CubeId] | None = Field(default=None, max_length=64,
                                       description="Cubes to search (default: your own plus the ones you mounted).")
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000,
                                   description="Return only as many memories as fit in this many tokens.")


class AddMemoryArgs(Args):
    content: Content = Field(description="The memory itself, in Markdown.")
    kind: ClientKind = Field(default="note", description="What sort of memory this is.")
    tags: list[Tag] = Field(default_factory=list, max_length=64, description="Labels to filter by later.")
    metadata: dict[str, Any] = Field(default_factory=dict, description=(
        "Free JSON; `speaker` or `role` is indexed. With kind tool_call, `tool` ({name, arguments, result, "
        "status}) records the call, which is what skills are learned from."))
    episode: MemoryId | None = Field(default=None, description="The open episode (from open_episode) this belongs to.")


class MemoryIdArgs(Args):
    id: MemoryId = Field(description="The memory's id.")


class TimelineArgs(Args):
    id: MemoryId = Field(description="The memory's id.")
    before: int = Field(3, ge=0, le=100, description="How many turns before it.")
    after: int = Field(3, ge=0, le=100, description="How many turns after it.")


class NoArgs(Args):
    pass


class SkillIdArgs(Args):
    id: MemoryId = Field(description="The skill's id (from list_skills).")


class RenderSkillArgs(Args):
    id: MemoryId = Field(description="The skill's id (from list_skills).")
    params: dict[str, Any] = Field(default_factory=dict, description="Values for the skill's parameters.")


class FeedbackArgs(Args):
    memory_id: MemoryId = Field(description="The memory the feedback is about.")
    signal: Literal["useful", "not_useful", "wrong", "outdated"] = Field(
        description="useful / not_useful move it in ranking; wrong or outdated retire a fact.")
    correction: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = Field(
        default=None, description="With `wrong`: the statement that is true instead.")


class OpenEpisodeArgs(Args):
    task: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="The task this episode works on, in one sentence.")


class CloseEpisodeArgs(Args):
    id: MemoryId = Field(description="The episode's id (from open_episode).")
    outcome: Literal["success", "failure", "unknown"] = Field(description="How the task ended.")


@dataclass(frozen=True)
class ToolOutput:
    structured: dict[str, Any]
    text: str


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def output(value: dict[str, Any]) -> ToolOutput:
    return ToolOutput(value, as_json(value))


def rendered_output(rendered: dict[str, Any]) -> ToolOutput:
    """A filled-in skill: its Markdown procedure for the model to read, the steps as data."""
    return ToolOutput(rendered, rendered["markdown"])


async def search_memory(rt: Runtime, caller: Caller, a: SearchMemoryArgs) -> ToolOutput:
    request = SearchRequest(query=a.query, top_k=a.top_k, cubes=tuple(a.cubes) if a.cubes else None,
                            budget=Budget(a.top_k, a.max_tokens))
    return output(await anyio.to_thread.run_sync(rt.search.search, caller, request))


def memory_body(a: AddMemoryArgs) -> MemoryIn:
    """The API's own body for this write, so the tool and POST /v1/memories mean the same thing; a tool
    call's `metadata.tool` becomes the body's `tool` (the call a skill's steps are learned from)."""
    fields = a.model_dump()
    if a.kind == Kind.TOOL_CALL.value and isinstance(a.metadata.get("tool"), dict):
        fields["metadata"] = {k: v for k, v in a.metadata.items() if k != "tool"}
        fields["tool"] = a.metadata["tool"]
    return MemoryIn.model_validate(fields)


async def add_memory(rt: Runtime, caller: Caller, a: AddMemoryArgs) -> ToolOutput:
    body = memory_body(a)
    # Waits until it is searchable: an agent that adds and then searches finds what it added.
    accepted = await rt.memories.add(caller, new_memory(body), wait=True)
    return output(accepted.body())


async def get_memory(rt: Runtime, caller: Caller, a: MemoryIdArgs) -> ToolOutput:
    return output(await anyio.to_thread.run_sync(rt.memories.get, caller, a.id))


async def memory_timeline(rt: Runtime, caller: Caller, a: TimelineArgs) -> ToolOutput:
    return output(await anyio.to_thread.run_sync(rt.memories.timeline, caller, a.id, a.before, a.after, None))


async def list_skills(rt: Runtime, caller: Caller, _: NoArgs) -> ToolOutput:
    return output({"skills": await anyio.to_thread.run_sync(rt.skills.list, caller, None)})


async def get_skill(rt: Runtime, caller: Caller, a: SkillIdArgs) -> ToolOutput:
    return output(await anyio.to_thread.run_sync(rt.skills.get, caller, a.id, None, None))


async def render_skill(rt: Runtime, caller: Caller, a: RenderSkillArgs) -> ToolOutput:
    return rendered_output(await anyio.to_thread.run_sync(rt.skills.render, caller, a.id, a.params, None))


async def give_feedback(rt: Runtime, caller: Caller, a: FeedbackArgs) -> ToolOutput:
    return output(await rt.feedback.feedback(caller, a.memory_id, a.signal, a.correction, None, None))


async def open_episode(rt: Runtime, caller: Caller, a: OpenEpisodeArgs) -> ToolOutput:
    return output(await rt.episodes.open(caller, a.task, None, None))


async def close_episode(rt: Runtime, caller: Caller, a: CloseEpisodeArgs) -> ToolOutput:
    return output(await rt.episodes.close(caller, a.id, a.outcome, None))


@dataclass(frozen=True)
class FixedTool:
    name: str
    description: str
    arguments: type[Args]
    run: Callable[[Runtime, Caller, Any], Awaitable[ToolOutput]]
    read_only: bool
    # Closing an episode or counting a skill run can change which skill tools exist.
    may_change_skills: bool = False

    def definition(self) -> types.Tool:
        return types.Tool(
            name=self.name, description=self.description, input_schema=self.arguments.model_json_schema(),
            annotations=types.ToolAnnotations(read_only_hint=self.read_only, open_world_hint=False),
        )


FIXED_TOOLS: dict[str, FixedTool] = {t.name: t for t in (
    FixedTool("search_memory", "Search your memories (keywords and meaning together) and get the best matches "
              "with their ids.", SearchMemoryArgs, search_memory, read_only=True),
    FixedTool("add_memory", "Store a memory (a note, fact, preference, message or tool call) so later searches "
              "find it.", AddMemoryArgs, add_memory, read_only=False),
    FixedTool("get_memory", "Read one memory by id: its content, tags, metadata and status.", MemoryIdArgs,
              get_memory, read_only=True),
    FixedTool("memory_timeline", "Show a memory among the turns just before and after it in the same conversation "
              "or episode.", TimelineArgs, memory_timeline, read_only=True),
    FixedTool("list_skills", "List the skills (procedures learned from successful episodes) you can use.", NoArgs,
              list_skills, read_only=True),
    FixedTool("get_skill", "Read one skill by id: its steps, parameters and success rate.", SkillIdArgs, get_skill,
              read_only=True),
    FixedTool("render_skill", "Fill in a skill's parameters and get the exact tool calls to make, in order.",
              RenderSkillArgs, render_skill, read_only=True),
    FixedTool("give_feedback", "Say whether a memory helped (useful, not_useful) or is wrong or outdated; with "
              "wrong, a correction replaces the fact.", FeedbackArgs, give_feedback, read_only=False,
              may_change_skills=True),
    FixedTool("open_episode", "Start an episode for a task; pass its id as `episode` when you add memories about "
              "the task.", OpenEpisodeArgs, open_episode, read_only=False),
    FixedTool("close_episode", "Finish an episode with its outcome; repeated successes of one kind become skills.",
              CloseEpisodeArgs, close_episode, read_only=False, may_change_skills=True),
)}


def error_result(code: str, message: str) -> types.CallToolResult:
    """A refusal the model can read and correct, shaped like the HTTP API's errors."""
    body = {"error": {"code": code, "message": message}}
    return types.CallToolResult(content=[types.TextContent(text=as_json(body))], structured_content=body,
                                is_error=True)


def success_result(out: ToolOutput) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=out.text)], structured_content=out.structured)


def invalid_arguments(exc: ValidationError) -> str:
    """`top_k: Input should be less than or equal to 100; ...`: each problem by its argument's name."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


async def call_fixed(tool: FixedTool, rt: Runtime, caller: Caller, arguments: Mapping[str, Any]) -> types.CallToolResult:
    try:
        return success_result(await tool.run(rt, caller, tool.arguments.model_validate(dict(arguments))))
    except ValidationError as exc:
        return error_result(Invalid.code, invalid_arguments(exc))
    except MemosError as exc:
        if exc.status >= 500:
            log.error("tool %s failed: %s: %s", tool.name, exc.code, exc.message)
        return error_result(exc.code, exc.message)
