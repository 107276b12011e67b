"""/v1/episodes: open an episode for a task, read it, close it with an outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import (
    CALLER_ERRORS, CUBE_ID_PATTERN, MEMORY_ID_PATTERN, EpisodeIn, EpisodeOut, EpisodePatch, error_responses,
)

router = APIRouter(
    prefix="/v1/episodes", tags=["episodes"], route_class=JsonRoute,
    responses=error_responses(*CALLER_ERRORS, 403, 404),
)
CubeQuery = Annotated[str | None, Query(pattern=CUBE_ID_PATTERN)]
EpisodeIdPath = Annotated[str, Path(json_schema_extra={"pattern": MEMORY_ID_PATTERN})]  # else 404, not refused


@router.post("", status_code=201, response_model=EpisodeOut, responses=error_responses(409, 413))
async def open_episode(body: EpisodeIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Open an episode (a task or session); traces name it with `"episode": id`."""
    return await rt.episodes.open(caller, body.task, body.id, body.cube)


@router.get("/{episode_id}", response_model=EpisodeOut)
def get_episode(episode_id: EpisodeIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    return rt.episodes.get(caller, episode_id, cube)


@router.patch("/{episode_id}", response_model=EpisodeOut, responses=error_responses(409, 413))
async def close_episode(episode_id: EpisodeIdPath, body: EpisodePatch, rt: RuntimeDep, caller: CallerDep,
                        cube: CubeQuery = None) -> dict:
    """Close with an outcome: the summary memory and any skill it completes are stored before the answer."""
    return await rt.episodes.close(caller, episode_id, body.outcome, cube)
