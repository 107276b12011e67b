"""/v1/episodes, /v1/skills, /v1/feedback, /v1/links: the trace, world and skill tiers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import CallerDep, RuntimeDep
from api.schemas import EpisodeIn, EpisodeOut, EpisodePatch, ErrorOut, FeedbackIn, LinkIn, RenderIn

router = APIRouter(
    prefix="/v1", tags=["tiers"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
CubeQuery = Annotated[str | None, Query(max_length=200)]


@router.post("/episodes", status_code=201, response_model=EpisodeOut, responses={409: {"model": ErrorOut}})
async def open_episode(body: EpisodeIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Open an episode (a task or session); traces name it with `"episode": id`."""
    return await rt.episodes.open(caller, body.task, body.id, body.cube)


@router.get("/episodes/{episode_id}", response_model=EpisodeOut)
def get_episode(episode_id: str, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    return rt.episodes.get(caller, episode_id, cube)


@router.patch("/episodes/{episode_id}", response_model=EpisodeOut, responses={409: {"model": ErrorOut}})
async def close_episode(episode_id: str, body: EpisodePatch, rt: RuntimeDep, caller: CallerDep,
                        cube: CubeQuery = None) -> dict:
    """Close with an outcome: the summary memory and any skill it completes are stored before the answer."""
    return await rt.episodes.close(caller, episode_id, body.outcome, cube)


@router.get("/skills")
def list_skills(rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> list:
    """The latest version of every skill in your cube and mounts (or in `cube`)."""
    return rt.skills.list(caller, cube)


@router.get("/skills/{skill_id}")
def get_skill(
    skill_id: str, rt: RuntimeDep, caller: CallerDep,
    version: Annotated[int | None, Query(ge=1)] = None, cube: CubeQuery = None,
) -> dict:
    return rt.skills.get(caller, skill_id, version, cube)


@router.get("/skills/{skill_id}/tool")
def skill_tool(skill_id: str, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """The skill as a callable tool: an OpenAI function definition and an MCP tool definition."""
    return rt.skills.tool(caller, skill_id, cube)


@router.post("/skills/{skill_id}/render")
def render_skill(skill_id: str, body: RenderIn, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    """The procedure with `params` filled in (checked against the skill's JSON Schema)."""
    return rt.skills.render(caller, skill_id, body.params, cube)


@router.post("/feedback")
async def feedback(body: FeedbackIn, rt: RuntimeDep, caller: CallerDep) -> JSONResponse:
    """useful / not_useful move the memory in ranking; wrong (with a correction) supersedes a world
    fact; outdated closes a fact's validity; on a skill, useful and not_useful count a run."""
    out = await rt.feedback.feedback(caller, body.memory_id, body.signal, body.correction, body.note, body.cube)
    return JSONResponse(out, status_code=200 if out["status"] == "done" else 202)


@router.post("/links", status_code=201)
async def link(body: LinkIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """A typed link between two memories (or a memory and an episode) of one cube."""
    return await rt.feedback.link(caller, body.src, body.dst, body.type, body.metadata, body.cube)
