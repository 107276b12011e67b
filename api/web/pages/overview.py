"""Overview: counts by tier, kind and status, the intake backlog, recent writes, searches, hot cubes, per day."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.web.page import PageRoute, UiDep, see_other

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RECENT = 10


@router.get("/")
def root() -> Response:
    return see_other("/ui")


@router.get("/ui")
def overview(ui: UiDep) -> Response:
    rt, caller = ui.rt, ui.caller
    counts = rt.analytics.overview(caller)
    recent: list[dict] = []
    for cube in counts["cubes"]:
        recent += rt.memories.list(caller, cube_id=cube, limit=RECENT, cursor=None, tag=None, kind=None,
                                   status=None)["items"]
    recent = sorted(recent, key=lambda m: (m["created_at"], m["id"]), reverse=True)[:RECENT]
    # An operator (or anyone, while auth is off) sees the whole front door's searches; an agent its own.
    everyone = caller.admin or not ui.auth_on
    searches = rt.activity.search_rate(None if everyone else {caller.agent})
    hot = [{"cube": a.cube, "searches": a.searches, "writes": a.writes, "in_memory": rt.read.is_hot(a.cube)}
           for a in rt.activity.hot_cubes(set(counts["cubes"]))]
    backlog = {"pending": rt.intake.pending_count(), "in_flight": rt.driver.in_flight}
    return ui.page("overview.html", "Overview", title="Overview", counts=counts, recent=recent, searches=searches,
                   everyone=everyone, hot=hot, backlog=backlog)
