"""Episodes: the list with task and outcome; one episode's ordered steps, its summary and the skill it fed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.web.page import PageRoute, UiDep
from pipeline.errors import NotFound
from pipeline.ids import MEMORY_ID

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
CubeQuery = Annotated[str | None, Query(max_length=200)]


@router.get("/ui/episodes")
def episodes_page(
    ui: UiDep, cube: CubeQuery = None, outcome: Literal["", "success", "failure", "unknown"] = "",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    page = ui.rt.episode_list.page(ui.caller, cube or None, PAGE_SIZE, cursor, outcome or None)
    cubes = [c for c in ui.rt.cubes.list(ui.caller) if c["role"] is not None]
    return ui.page("episodes.html", "Episodes", title="Episodes", page=page, cubes=cubes, outcome=outcome,
                   first=cursor is None)


@router.get("/ui/episodes/{episode_id}")
def episode_page(ui: UiDep, episode_id: Annotated[str, Path(pattern=f"^{MEMORY_ID.pattern}$")],
                 cube: CubeQuery = None) -> Response:
    rt, caller = ui.rt, ui.caller
    episode = rt.episodes.get(caller, episode_id, cube or None)
    steps = [rt.memories.get(caller, trace, episode["cube"]) for trace in episode["traces"]]
    summary = None
    if episode["summary_id"]:
        try:
            summary = rt.memories.get(caller, episode["summary_id"], episode["cube"])
        except NotFound:  # closing stores it; until then there is none
            summary = None
    fed = [s for s in rt.skills.list(caller, episode["cube"])
           if episode_id in s["examples"] or episode_id in s["failures"]]
    return ui.page("episode.html", "Episodes", title="Episode", episode=episode, steps=steps, summary=summary,
                   skills=fed)
