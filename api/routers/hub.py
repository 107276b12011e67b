"""/v1/hub (a team hub: teams, members, shared skills and cubes) and /v1/team (this server as a member).

Hub routes for the admin take an operator (an admin key when auth is on); hub routes for members
take a member credential (`Authorization: Bearer mcr_...`), except the signed join and status
requests. /v1/team routes act on this server: the admin's join and sync, any agent's publish and
pull (with the access they need on their cubes). All of it is in service/team/.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, StringConstraints

from api.deps import CallerDep, OperatorDep, RuntimeDep, caller_headers, first_headers, operator, runtime
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, CUBE_ID_PATTERN, MEMORY_ID_PATTERN, CubeId, Strict, error_responses
from pipeline.access import Caller
from pipeline.team.credentials import TEAM_PATTERN
from pipeline.team.cursor import CURSOR_PATTERN
from pipeline.team.signing import SERVER_ID_PATTERN
from service.runtime import Runtime

TeamName = Annotated[str, StringConstraints(pattern=TEAM_PATTERN)]
TeamPath = Annotated[str, Path(pattern=TEAM_PATTERN)]
MemberPath = Annotated[str, Path(pattern=SERVER_ID_PATTERN)]
CubePath = Annotated[str, Path(pattern=CUBE_ID_PATTERN)]
TeamQuery = Annotated[str | None, Query(pattern=TEAM_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,2000}$")]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
Signature = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]
MS = Annotated[int, Field(ge=0, le=2**53)]

hub = APIRouter(prefix="/v1/hub", tags=["team"], route_class=JsonRoute,
                responses=error_responses(*CALLER_ERRORS, 403, 404, 409))
team = APIRouter(prefix="/v1/team", tags=["team"], route_class=JsonRoute,
                 responses=error_responses(*CALLER_ERRORS, 403, 404, 409))


class TeamIn(Strict):
    team: TeamName


class DecisionIn(Strict):
    team: TeamName | None = Field(default=None, description="The member's team (needed only if it is in several).")


class CubeIn(Strict):
    cube: CubeId


class JoinRequestIn(Strict):
    token: Annotated[str, StringConstraints(max_length=300)]
    member: Annotated[str, StringConstraints(pattern=SERVER_ID_PATTERN)]
    name: Annotated[str, StringConstraints(max_length=2000)] = ""
    url: Annotated[str, StringConstraints(max_length=2000)] = ""
    public_key: Key
    at: MS
    signature: Signature


class StatusRequestIn(Strict):
    team: TeamName
    member: Annotated[str, StringConstraints(pattern=SERVER_ID_PATTERN)]
    public_key: Key
    at: MS
    signature: Signature


class PublishedIn(Strict):
    bundle: dict[str, Any] = Field(description="The skill bundle (docs/team.md#skill-bundles).")
    signature: Signature


class RunReport(Strict):
    skill: Annotated[str, StringConstraints(pattern=MEMORY_ID_PATTERN)]
    runs: Annotated[int, Field(ge=0, le=2**53)]
    successes: Annotated[int, Field(ge=0, le=2**53)]


class RunsIn(Strict):
    reports: list[RunReport] = Field(max_length=10_000)


class HubSearchIn(Strict):
    query: Text
    vector: list[float] | None = Field(default=None, max_length=4096)
    top_k: Annotated[int, Field(ge=1, le=100)] = 10


class JoinIn(Strict):
    url: Url = Field(description="The hub's URL, e.g. `http://10.0.0.5:8765`.")
    token: Annotated[str, StringConstraints(max_length=300)] = Field(description="The join token `memos hub init` printed.")


class PublishIn(Strict):
    skill_id: Annotated[str, StringConstraints(pattern=MEMORY_ID_PATTERN)]
    team: TeamName
    cube: CubeId | None = None
    traces: bool = Field(False, description="Also send the traces of the skill's example episodes.")


class PullIn(Strict):
    team: TeamName
    cube: CubeId | None = Field(default=None, description="The cube to import into (you need write; default: yours).")


class ReplicateIn(Strict):
    team: TeamName
    cube: CubeId


class SyncIn(Strict):
    team: TeamName | None = None


# --- the hub's admin -------------------------------------------------------------------------------


@hub.post("/teams")
def init_team(body: TeamIn, rt: RuntimeDep, who: OperatorDep) -> dict:
    """Create a team; its join token is in this answer only (the hub keeps a hash)."""
    return rt.team.hub.init_team(body.team)


@hub.get("/teams")
def hub_status(rt: RuntimeDep, who: OperatorDep) -> dict:
    """The teams this server hubs: members by status, shared skills and cubes."""
    return rt.team.hub.status()


@hub.get("/members")
def list_members(rt: RuntimeDep, who: OperatorDep, team: TeamQuery = None) -> dict:
    return rt.team.hub.members(team)


@hub.post("/members/{member}/approve")
def approve(member: MemberPath, rt: RuntimeDep, who: OperatorDep, body: DecisionIn | None = None) -> dict:
    """Approve a join request: the member collects its credential on its next status request."""
    return rt.team.hub.approve(member, (body or DecisionIn()).team)


@hub.post("/members/{member}/reject")
def reject(member: MemberPath, rt: RuntimeDep, who: OperatorDep, body: DecisionIn | None = None) -> dict:
    return rt.team.hub.reject(member, (body or DecisionIn()).team)


@hub.delete("/members/{member}")
def remove(member: MemberPath, rt: RuntimeDep, who: OperatorDep, team: TeamQuery = None,
           published: Literal["keep", "drop"] = "keep") -> dict:
    """Remove a member: its credential is refused from its next request; what it published is kept or dropped."""
    return rt.team.hub.remove(member, team, published)


@hub.post("/teams/{team_name}/cubes")
def share_cube(team_name: TeamPath, body: CubeIn, rt: RuntimeDep, who: OperatorDep) -> dict:
    """Share a knowledge-base cube of this server with the team, to replicate read-only."""
    return rt.team.hub.share_cube(team_name, body.cube)


@hub.delete("/teams/{team_name}/cubes/{cube}")
def unshare_cube(team_name: TeamPath, cube: CubePath, rt: RuntimeDep, who: OperatorDep) -> dict:
    return rt.team.hub.unshare_cube(team_name, cube)


# --- the hub's members -----------------------------------------------------------------------------


@hub.post("/join")
def join_request(body: JoinRequestIn, rt: RuntimeDep) -> dict:
    """A server asks to join with the team's token, signed with its key; it waits for approval."""
    return rt.team.hub.join(body.model_dump())


@hub.post("/membership")
def member_status(body: StatusRequestIn, rt: RuntimeDep) -> dict:
    """A member's join state, signed by it; the first answer after approval carries its credential."""
    return rt.team.hub.member_status(body.model_dump())


async def member(request: Request, team_name: TeamPath, rt: Annotated[Runtime, Depends(runtime)],
                 authorization: Annotated[str | None, Header(description="`Bearer mcr_...`: a member credential.")]
                 = None) -> str:
    authorization, _ = caller_headers(first_headers(request.scope))
    return await run_in_threadpool(rt.team.hub.authenticate, authorization, team_name)


MemberDep = Annotated[str, Depends(member)]


async def member_or_operator(request: Request, team_name: TeamPath, rt: Annotated[Runtime, Depends(runtime)]) -> str:
    """A member credential, or else the hub's own operator (its admin reads the team's listing too)."""
    authorization, agent = caller_headers(first_headers(request.scope))
    if (authorization or "").partition(" ")[2].strip().startswith("mcr_"):
        return await run_in_threadpool(rt.team.hub.authenticate, authorization, team_name)
    known: Caller | None = rt.auth.known_caller(authorization, agent)
    if known is None:
        known = await run_in_threadpool(rt.auth.caller, authorization, agent)
    await operator(rt, known)
    return known.agent


@hub.get("/teams/{team_name}/skills")
def shared_skills(team_name: TeamPath, rt: RuntimeDep, who: Annotated[str, Depends(member_or_operator)]) -> dict:
    """The newest version of each shared skill, with its publisher, signature status and merged run counts."""
    return rt.team.hub.listing(team_name)


@hub.post("/teams/{team_name}/skills")
def publish_bundle(team_name: TeamPath, body: PublishedIn, rt: RuntimeDep, who: MemberDep) -> dict:
    """A member's signed skill bundle: verified against its key, then stored."""
    return rt.team.hub.publish(team_name, who, body.bundle, body.signature)


@hub.get("/teams/{team_name}/skills/feed")
def skill_feed(team_name: TeamPath, rt: RuntimeDep, who: MemberDep,
               after: Annotated[int, Query(ge=0, le=2**53)] = 0) -> dict:
    """Shared skill versions after `after`, oldest first, with the roster signed by the hub."""
    return rt.team.hub.skills_page(team_name, after)


@hub.post("/teams/{team_name}/skills/runs")
def report_runs(team_name: TeamPath, body: RunsIn, rt: RuntimeDep, who: MemberDep) -> dict:
    """A member's own run counts of shared skills (cumulative; the team's totals sum them per member)."""
    return rt.team.hub.report_runs(team_name, who, [r.model_dump() for r in body.reports])


@hub.post("/teams/{team_name}/search")
def search_shared(team_name: TeamPath, body: HubSearchIn, rt: RuntimeDep, who: MemberDep) -> dict:
    return rt.team.hub.search(team_name, body.query, body.vector, body.top_k)


@hub.get("/teams/{team_name}/cubes")
def shared_cubes(team_name: TeamPath, rt: RuntimeDep, who: MemberDep) -> dict:
    return rt.team.hub.cubes(team_name)


@hub.get("/teams/{team_name}/cubes/{cube}/changes")
def cube_changes(team_name: TeamPath, cube: CubePath, rt: RuntimeDep, who: MemberDep,
                 cursor: Annotated[str, Query(pattern=CURSOR_PATTERN)] = "") -> dict:
    """One replication page after `cursor` (empty: from the start)."""
    return rt.team.hub.cube_page(team_name, cube, cursor)


# --- this server as a member -----------------------------------------------------------------------


@team.post("/join")
def join(body: JoinIn, rt: RuntimeDep, who: OperatorDep) -> dict:
    """Ask the hub at `url` to let this server join; `status` is pending until its admin approves."""
    return rt.team.member.join(body.url, body.token)


@team.get("/status")
def team_status(rt: RuntimeDep, who: OperatorDep) -> dict:
    """Memberships, replicas (state, cursor, lag) and, on a hub, its teams."""
    return {**rt.team.member.status(), "hub": rt.team.hub.status(), "url": rt.team.url}


@team.post("/skills/publish")
def publish(body: PublishIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Sign a skill you can read (every version) and send it to the team's hub."""
    return rt.team.member.publish(caller, body.skill_id, body.team, body.cube, body.traces)


@team.post("/skills/pull")
def pull(body: PullIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Import the team's new shared skill versions, each signature verified, into a cube you can write."""
    return rt.team.member.pull(caller, body.team, body.cube)


@team.post("/replicas")
def replicate(body: ReplicateIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Replicate a cube the hub shares with the team, read-only here (you get read and a mount)."""
    return rt.team.member.replicate(caller, body.team, body.cube)


@team.post("/sync")
def sync(rt: RuntimeDep, who: OperatorDep, body: SyncIn | None = None) -> dict:
    """Bring every replica (of `team`) up to date now."""
    return rt.team.member.sync((body or SyncIn()).team)
