"""Team: this server as a hub (its teams, members to approve, reject or remove, shared cubes, published
skills) and as a member (its memberships, its replicas with state and lag, Sync now), through the same
service/team/ calls as the /v1/hub and /v1/team routes, behind the same operator check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import Response

from api.deps import operator
from api.web.page import PageRoute, Ui, UiDep, see_other
from pipeline.errors import Forbidden, MemosError
from pipeline.team.credentials import TEAM_PATTERN
from pipeline.team.signing import SERVER_ID_PATTERN

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MemberPath = Annotated[str, Path(pattern=SERVER_ID_PATTERN)]
TeamForm = Annotated[str, Form(pattern=TEAM_PATTERN)]


async def operating(ui: UiDep) -> bool:
    """Whether the caller may see the team: the routes' own operator check (api/deps.py), not a copy of it."""
    try:
        await operator(ui.rt, ui.caller)
    except Forbidden:
        return False
    return True


async def operator_ui(ui: UiDep) -> Ui:
    await operator(ui.rt, ui.caller)  # Forbidden: a 403 page, as the route's 403
    return ui


OperatorUi = Annotated[Ui, Depends(operator_ui)]


def hub_context(ui: Ui) -> dict[str, Any]:
    """What `GET /v1/hub/teams`, `/members`, `/teams/{t}/skills` and `/teams/{t}/cubes` show, team by team."""
    hub = ui.rt.team.hub
    members = hub.members(None)["members"]
    teams = []
    for summary in hub.status()["teams"]:
        name = summary["team"]
        teams.append({**summary, "members_list": [m for m in members if m["team"] == name],
                      "shared_skills": hub.listing(name)["skills"], "shared_cubes": hub.cubes(name)["cubes"]})
    return {"teams": teams, "hub_id": ui.rt.team.identity.id}


def team_page(ui: Ui, problem: str | None = None) -> Response:
    member = ui.rt.team.member.status()  # refreshes pending memberships from their hubs, as `memos hub status`
    is_hub = ui.rt.team.hub.enabled
    return ui.page("team.html", "Team", title="Team", manage=True, is_hub=is_hub,
                   hub=hub_context(ui) if is_hub else None, member=member, url=ui.rt.team.url, problem=problem)


@router.get("/ui/team")
def team(ui: UiDep, manage: Annotated[bool, Depends(operating)]) -> Response:
    if not manage:
        return ui.page("team.html", "Team", title="Team", manage=False, is_hub=False, hub=None, member=None,
                       url=ui.rt.team.url, problem=None)
    return team_page(ui)


def _decided(ui: Ui, action: Callable[[], str]) -> Response:
    """Run one decision and flash what it did; its typed error (a member gone, in two teams, no hub)
    shows on the team page itself, in an alert."""
    try:
        done = action()
    except MemosError as exc:
        return team_page(ui, problem=f"{exc.message} ({exc.code})")
    ui.flash(done)
    return see_other("/ui/team")


@router.post("/ui/team/members/{member}/approve")
def approve(ui: OperatorUi, member: MemberPath, team: TeamForm) -> Response:
    def run() -> str:
        ui.rt.team.hub.approve(member, team)
        return f"Approved {member} in team {team}: it collects its credential on its next status request."

    return _decided(ui, run)


@router.post("/ui/team/members/{member}/reject")
def reject(ui: OperatorUi, member: MemberPath, team: TeamForm) -> Response:
    def run() -> str:
        ui.rt.team.hub.reject(member, team)
        return f"Rejected {member} in team {team}."

    return _decided(ui, run)


@router.post("/ui/team/members/{member}/remove")
def remove(ui: OperatorUi, member: MemberPath, team: TeamForm,
           published: Annotated[Literal["keep", "drop"], Form()] = "keep") -> Response:
    def run() -> str:
        dropped = ui.rt.team.hub.remove(member, team, published)["dropped_skills"]
        kept = "what it published stays" if published == "keep" else f"{dropped} published skill(s) dropped"
        return f"Removed {member} from team {team}: its credential is refused from its next request; {kept}."

    return _decided(ui, run)


@router.post("/ui/team/sync")
def sync(ui: OperatorUi) -> Response:
    def run() -> str:
        replicas = ui.rt.team.member.sync(None)["replicas"]
        failed = [r["cube"] for r in replicas if r["state"] == "error"]
        return f"Synced {len(replicas)} replica(s)" + (
            f"; failed: {', '.join(failed)} (its error is below)." if failed else ".")

    return _decided(ui, run)
