"""/v1/episodes: open an episode for a task, read it, close it with an outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, RuntimeDep
from api.schemas import EpisodeIn, EpisodeOut, EpisodePatch, ErrorOut

router = APIRouter(
    prefix="/v1/episodes", tags=["episodes"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
CubeQuery = Annotated[str | None, Query(max_length=200)]


@router.post("", status_code=201, response_model=EpisodeOut, responses={409: {"model": ErrorOut}})
async def open_episode(body: EpisodeIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Open an episode (a task or session); traces name it with `"episode": id`."""
    return await rt.episodes.open(caller, body.task, body.id, body.cube)


@router.get("/{episode_id}", response_model=EpisodeOut)
def get_episode(episode_id: str, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    return rt.episodes.get(caller, episode_id, cube)


@router.patch("/{episode_id}", response_model=EpisodeOut, responses={409: {"model": ErrorOut}})
async def close_episode(episode_id: str, body: EpisodePatch, rt: RuntimeDep, caller: CallerDep,
                        cube: CubeQuery = None) -> dict:
    """Close with an outcome: the summary memory and any skill it completes are stored before the answer."""
    return await rt.episodes.close(caller, episode_id, body.outcome, cube)
