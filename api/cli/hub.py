"""`memos hub …` (a team hub and this server's memberships) and `memos skills publish|pull`, over HTTP.

Each command talks to the server MEMOS_URL names, with MEMOS_API_KEY; `memos hub discover` alone
runs here, browsing the LAN for hubs (it never joins one). See docs/team.md.
"""

from __future__ import annotations

from typing import Any

import typer

from api.cli.output import AgentOpt, JsonOpt, client, emit, errors_as_exit, settings

app = typer.Typer(help="Team sharing: a hub's teams and members, this server's memberships and replicas.",
                  no_args_is_help=True)
skills_app = typer.Typer(help="Skills shared with a team: publish yours, pull the team's.", no_args_is_help=True)
TeamOpt = typer.Option(None, "--team", help="The team (needed only when the member is in several).")


def _call(method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
          agent: str | None = None) -> Any:
    with client(agent) as c:
        _, out = c.request(method, path, json=body, params=params)
    return out


def _members(out: dict) -> str:
    lines = [f"{m['member']}  {m['status']:<8} team={m['team']}  {m['url'] or m['name']}" for m in out["members"]]
    return "\n".join(lines) or "(no members)"


@app.command()
def init(team: str = typer.Option(..., "--team", help="The team's name."), as_json: bool = JsonOpt) -> None:
    """Create a team on this hub and print its join token (shown once; the hub keeps a hash).

    Example: memos hub init --team platform --json
    """
    with errors_as_exit():
        out = _call("POST", "/v1/hub/teams", {"team": team})
    emit({"team": out["team"], "join_token": out["join_token"]}, as_json,
         lambda o: f"{o['join_token']}\n(join token of team {o['team']}; shown once: hand it to each teammate)")


@app.command()
def join(url: str = typer.Argument(..., help="The hub's URL."),
         token: str = typer.Option(..., "--token", help="The team's join token."), as_json: bool = JsonOpt) -> None:
    """Ask the hub at URL to let this server join its team; pending until the hub's admin approves.

    Example: memos hub join http://10.0.0.5:8765 --token mjt.cGxhdGZvcm0.…
    """
    with errors_as_exit():
        out = _call("POST", "/v1/team/join", {"url": url, "token": token})
    emit({"member": out["member"], "status": out["status"], "team": out.get("team")}, as_json,
         lambda o: f"member {o['member']} of team {o['team']}: {o['status']}")


@app.command()
def members(team: str = TeamOpt, as_json: bool = JsonOpt) -> None:
    """The hub's members and join requests.

    Example: memos hub members --json
    """
    with errors_as_exit():
        out = _call("GET", "/v1/hub/members", params={"team": team})
    emit(out, as_json, _members)


def _decide(action: str, member: str, team: str | None, as_json: bool) -> None:
    with errors_as_exit():
        out = _call("POST", f"/v1/hub/members/{member}/{action}", {"team": team})
    emit(out, as_json, lambda o: f"{o['member']}: {o['status']} (team {o['team']})")


@app.command()
def approve(member: str = typer.Argument(..., help="The member id (srv-…)."), team: str = TeamOpt,
            as_json: bool = JsonOpt) -> None:
    """Approve a join request; the member gets its own revocable credential.

    Example: memos hub approve srv-3f2a9c0d1e4b5a6c7d8e
    """
    _decide("approve", member, team, as_json)


@app.command()
def reject(member: str = typer.Argument(..., help="The member id (srv-…)."), team: str = TeamOpt,
           as_json: bool = JsonOpt) -> None:
    """Reject a join request.

    Example: memos hub reject srv-3f2a9c0d1e4b5a6c7d8e
    """
    _decide("reject", member, team, as_json)


@app.command()
def remove(member: str = typer.Argument(..., help="The member id (srv-…)."), team: str = TeamOpt,
           drop: bool = typer.Option(False, "--drop", help="Also remove the skills it published (default: keep them)."),
           as_json: bool = JsonOpt) -> None:
    """Remove a member: its credential is refused from its next request.

    Example: memos hub remove srv-3f2a9c0d1e4b5a6c7d8e --drop
    """
    with errors_as_exit():
        out = _call("DELETE", f"/v1/hub/members/{member}",
                    params={"team": team, "published": "drop" if drop else "keep"})
    emit(out, as_json, lambda o: f"{o['member']}: removed from team {o['team']} ({o['dropped_skills']} skills dropped)")


def _status_text(o: dict) -> str:
    lines = [f"this server: {o['member']} at {o['url']}"]
    for t in o["hub"].get("teams", []):
        lines.append(f"hub of team {t['team']}: members {t['members']}, {t['skills']} skills, cubes {t['cubes']}")
    for m in o["memberships"]:
        lines.append(f"member of team {m['team']} at {m['hub_url']}: {m['status']}")
    for r in o["replicas"]:
        lines.append(f"replica {r['cube']} (team {r['team']}): {r['state']}, {r['rows']} rows, lag {r['lag']}"
                     + (f", error: {r['error']}" if r["error"] else ""))
    return "\n".join(lines)


@app.command()
def status(as_json: bool = JsonOpt) -> None:
    """This server's teams: as hub, as member, and each replica's state and lag.

    Example: memos hub status --json
    """
    with errors_as_exit():
        out = _call("GET", "/v1/team/status")
    emit(out, as_json, _status_text)


@app.command()
def share(cube: str = typer.Argument(..., help="A knowledge-base cube of this hub."),
          team: str = typer.Option(..., "--team", help="The team."), as_json: bool = JsonOpt) -> None:
    """Share a knowledge-base cube with a team (members replicate it read-only).

    Example: memos hub share kb-01M887AY4YGXE2QS4FFZ6M2SD2 --team platform
    """
    with errors_as_exit():
        out = _call("POST", f"/v1/hub/teams/{team}/cubes", {"cube": cube})
    emit(out, as_json, lambda o: f"team {o['team']} shares {', '.join(o['cubes'])}")


@app.command()
def replicate(cube: str = typer.Argument(..., help="A cube the hub shares with the team."),
              team: str = typer.Option(..., "--team", help="The team."), agent: str = AgentOpt,
              as_json: bool = JsonOpt) -> None:
    """Replicate a team's shared cube here, read-only, and bring it up to date.

    Example: memos hub replicate kb-01M887AY4YGXE2QS4FFZ6M2SD2 --team platform
    """
    with errors_as_exit():
        out = _call("POST", "/v1/team/replicas", {"team": team, "cube": cube}, agent=agent)
    emit(out, as_json, lambda r: f"replica {r['cube']}: {r['state']}, {r['rows']} rows, lag {r['lag']}")


@app.command()
def sync(team: str = TeamOpt, as_json: bool = JsonOpt) -> None:
    """Bring every replica up to date now (a member also does so every team_sync_interval_s).

    Example: memos hub sync --json
    """
    with errors_as_exit():
        out = _call("POST", "/v1/team/sync", {"team": team})
    emit(out, as_json, lambda o: "\n".join(f"replica {r['cube']}: {r['state']}, {r['rows']} rows, lag {r['lag']}"
                                           for r in o["replicas"]) or "(no replicas)")


@app.command()
def discover(seconds: float = typer.Option(3.0, "--seconds", min=0.5, max=60, help="How long to listen."),
             interfaces: str = typer.Option(None, "--interfaces", help="Addresses to browse on (MEMOS_TEAM_INTERFACES)."),
             as_json: bool = JsonOpt) -> None:
    """List the hubs announcing themselves on this LAN (mDNS `_memos._tcp`); joins nothing.

    Example: memos hub discover --json
    """
    from service.team.discovery import discover as browse

    with errors_as_exit():
        out = browse(seconds, interfaces if interfaces is not None else settings().team_interfaces)
    emit(out, as_json, lambda o: "\n".join(f"{h['name']}  {h['url']}  teams={','.join(h['teams'])}"
                                           for h in o["hubs"]) or "(no hub answered)")


@app.command("skills")
def shared(team: str = typer.Option(..., "--team", help="The team."), as_json: bool = JsonOpt) -> None:
    """The team's shared skills, with publisher, signature status and merged run counts.

    Example: memos hub skills --team platform --json
    """
    with errors_as_exit():
        out = _call("GET", "/v1/skills", params={"scope": "team"})
    out = {"skills": [s for s in out if s.get("team") == team]}
    emit(out, as_json, lambda o: "\n".join(f"{s['skill']} v{s['version']}  {s['name']}  by {s['publisher']}  "
                                           f"{s['signature_status']}" for s in o["skills"]) or "(none)")


@skills_app.command()
def publish(skill_id: str = typer.Argument(..., help="The skill's id."),
            team: str = typer.Option(..., "--team", help="The team."),
            cube: str = typer.Option(None, "--cube", help="The cube holding the skill (default: found by id)."),
            traces: bool = typer.Option(False, "--traces", help="Also send its example episodes' traces."),
            agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """Sign a skill (with every version) and share it with the team's hub.

    Example: memos skills publish skill-01J… --team platform --json
    """
    with errors_as_exit():
        out = _call("POST", "/v1/team/skills/publish",
                    {"skill_id": skill_id, "team": team, "cube": cube, "traces": traces}, agent=agent)
    emit({"skill": out["skill"], "version": out["version"], "signature": out["signature"]}, as_json,
         lambda o: f"published {o['skill']} version {o['version']} (signature {o['signature'][:16]}…)")


@skills_app.command()
def pull(team: str = typer.Option(..., "--team", help="The team."),
         cube: str = typer.Option(None, "--cube", help="The cube to import into (default: yours)."),
         agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """Import the team's new shared skills, verifying each signature (a bad one refuses the pull).

    Example: memos skills pull --team platform --json
    """
    with errors_as_exit():
        out = _call("POST", "/v1/team/skills/pull", {"team": team, "cube": cube}, agent=agent)
    emit({"pulled": out["pulled"]}, as_json,
         lambda o: "pulled " + (", ".join(o["pulled"]) if o["pulled"] else "nothing new"))
