"""`memos cleanup|tag|retention|report`: keep a cube tidy over HTTP (POST /v1/cleanup, the retention rules, the report)."""

from __future__ import annotations

import re
from typing import Any

import typer

from api.cli.output import AgentOpt, JsonOpt, client, emit, errors_as_exit, fail, short

FilterOpt = typer.Option([], "--filter", "-f", help="A condition KEY=VALUE (repeatable): cube, tier, kind, tags, "
                         "status, before, after, duplicates, superseded, feedback_at_most, never_retrieved, query.")
DryRunOpt = typer.Option(False, "--dry-run", help="Show what would change; change nothing.")
_FLAGS = ("duplicates", "superseded", "never_retrieved")
_AGE = re.compile(r"^([0-9]+)([smhdw]?)$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_filter(pairs: list[str]) -> dict[str, Any]:
    """`--filter` pairs as the body's filter: tags repeat or split on commas, flags and numbers typed."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--filter takes KEY=VALUE, got {pair!r}")
        if key == "tags":
            out.setdefault("tags", []).extend(t for t in value.split(",") if t)
        elif key in _FLAGS:
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                fail(f"--filter {key} takes true or false, got {value!r}")
            out[key] = value.lower() in ("true", "1", "yes")
        elif key == "feedback_at_most":
            try:
                out[key] = int(value)
            except ValueError:
                fail(f"--filter feedback_at_most takes an integer, got {value!r}")
        else:
            out[key] = value
    return out


def parse_age(text: str) -> int:
    """`30d`, `12h`, `90m`, `3600s` or plain seconds, as seconds."""
    found = _AGE.match(text.strip())
    if not found:
        fail(f"--max-age takes a number with an optional unit s, m, h, d or w (like 30d), got {text!r}")
    return int(found.group(1)) * _UNIT_S[found.group(2)]


def _run_cleanup(body: dict[str, Any], agent: str | None, as_json: bool) -> None:
    with errors_as_exit(), client(agent) as c:
        _, out = c.request("POST", "/v1/cleanup", json=body)
    emit(out, as_json, _cleanup_text)


def _cleanup_text(out: dict[str, Any]) -> str:
    verb = "would change" if out["dry_run"] else "changed" if out["status"] == "done" else out["status"]
    lines = [f"{out['matched']} memories {verb}" + (f"  (job {out['job_id']})" if out.get("job_id") else "")]
    lines += [f"  {m['id']}  [{m['kind']}] {short(m['content'], 70)}" for m in out["sample"]]
    return "\n".join(lines)


def cleanup(
    action: str = typer.Argument(..., help="delete | archive | restore | add_tag | remove_tag | move"),
    filters: list[str] = FilterOpt,
    tag: str = typer.Option(None, "--tag", help="The tag add_tag adds or remove_tag removes."),
    to: str = typer.Option(None, "--to", help="move: the cube to move the memories into."),
    dry_run: bool = DryRunOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Apply one action to every memory of a cube that the filter selects.

    Example: memos cleanup archive --filter kind=note --filter before=2026-01-01T00:00:00Z --dry-run
    """
    body: dict[str, Any] = {"filter": parse_filter(filters), "action": action, "dry_run": dry_run}
    if tag is not None:
        body["tag"] = tag
    if to is not None:
        body["to"] = to
    _run_cleanup(body, agent, as_json)


tag_app = typer.Typer(help="Add or remove a tag on every memory a filter selects.", no_args_is_help=True)


@tag_app.command("add")
def tag_add(
    tag: str = typer.Argument(..., help="The tag to add."),
    filters: list[str] = FilterOpt,
    dry_run: bool = DryRunOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Tag every memory the filter selects.

    Example: memos tag add reviewed --filter kind=note --filter query=invoice
    """
    _run_cleanup({"filter": parse_filter(filters), "action": "add_tag", "tag": tag, "dry_run": dry_run}, agent, as_json)


@tag_app.command("rm")
def tag_rm(
    tag: str = typer.Argument(..., help="The tag to remove."),
    filters: list[str] = FilterOpt,
    dry_run: bool = DryRunOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Take a tag off every memory the filter selects.

    Example: memos tag rm draft --filter tags=draft --filter before=2026-06-01T00:00:00Z
    """
    _run_cleanup({"filter": parse_filter(filters), "action": "remove_tag", "tag": tag, "dry_run": dry_run}, agent,
                 as_json)


def _cube_or_own(c: Any, cube: str | None) -> str:
    """The cube named, else the caller's private cube (the server knows who the caller is)."""
    if cube:
        return cube
    _, cubes = c.request("GET", "/v1/cubes")
    own = [x["id"] for x in cubes if x["kind"] == "private"]
    if not own:
        c.request("GET", "/v1/memories", params={"limit": 1})  # makes the private cube on first use
        _, cubes = c.request("GET", "/v1/cubes")
        own = [x["id"] for x in cubes if x["kind"] == "private"]
    if not own:
        fail("you have no cube of your own yet; name one with --cube")
    return own[0]


CubeOpt = typer.Option(None, "--cube", help="The cube (default: your own).")
retention_app = typer.Typer(help="A cube's retention rules, which the sweeper applies.", no_args_is_help=True)


def _rule_text(r: dict[str, Any]) -> str:
    scope = " ".join(f"{k}={r[k]}" for k in ("tier", "kind", "tag", "status") if r.get(k))
    limit = f"older than {r['max_age_s']}s" if r.get("max_age_s") is not None else f"beyond newest {r['max_count']} per kind"
    return f"{r['id']}: {r['action']} {scope or 'all'} {limit}"


@retention_app.command("list")
def retention_list(cube: str = CubeOpt, agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """Show a cube's retention rules.

    Example: memos retention list --cube kb-01M887AY4YGXE2QS4FFZ6M2SD2
    """
    with errors_as_exit(), client(agent) as c:
        _, out = c.request("GET", f"/v1/cubes/{_cube_or_own(c, cube)}/retention")
    emit(out, as_json, lambda o: "\n".join(_rule_text(r) for r in o["rules"]) or f"(no rules on {o['cube']})")


@retention_app.command("set")
def retention_set(
    rule_id: str = typer.Argument(..., metavar="RULE", help="The rule's id (letters, digits, '_', '-')."),
    max_age: str = typer.Option(None, "--max-age", help="Memories older than this go: 30d, 12h, 3600s."),
    max_count: int = typer.Option(None, "--max-count", min=0, help="Keep the newest this many of each kind."),
    tier: str = typer.Option(None, help="trace | world | skill"),
    kind: str = typer.Option(None, help="Only this kind."),
    tag: str = typer.Option(None, help="Only memories with this tag."),
    status: str = typer.Option("active", help="Only memories with this status."),
    action: str = typer.Option("delete", help="delete | archive"),
    cube: str = CubeOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create or replace a retention rule (admin on the cube).

    Example: memos retention set old-notes --kind note --max-age 90d --action archive
    """
    body: dict[str, Any] = {"status": status, "action": action}
    for key, value in (("tier", tier), ("kind", kind), ("tag", tag), ("max_count", max_count)):
        if value is not None:
            body[key] = value
    if max_age is not None:
        body["max_age_s"] = parse_age(max_age)
    with errors_as_exit(), client(agent) as c:
        _, out = c.request("PUT", f"/v1/cubes/{_cube_or_own(c, cube)}/retention/{rule_id}", json=body)
    emit(out, as_json, _rule_text)


@retention_app.command("rm")
def retention_rm(
    rule_id: str = typer.Argument(..., metavar="RULE", help="The rule's id."),
    cube: str = CubeOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove a retention rule.

    Example: memos retention rm old-notes
    """
    with errors_as_exit(), client(agent) as c:
        target = _cube_or_own(c, cube)
        c.request("DELETE", f"/v1/cubes/{target}/retention/{rule_id}")
    emit({"cube": target, "id": rule_id, "removed": True}, as_json, lambda o: f"removed {o['id']} from {o['cube']}")


def _report_text(r: dict[str, Any]) -> str:
    def counts(items: list[dict[str, Any]]) -> str:
        return ", ".join(f"{i['name']} {i['memories']}" for i in items) or "-"

    lines = [
        f"cube {r['cube']}: {r['total']} memories ({r['active']} active), {r['size_bytes']} bytes on disk",
        f"by tier: {counts(r['by_tier'])}", f"by kind: {counts(r['by_kind'])}",
        f"by status: {counts(r['by_status'])}", f"by tag: {counts(r['by_tag'])}", f"by age: {counts(r['by_age'])}",
        f"duplicates {r['duplicates']} (in {r['duplicate_groups']} groups), superseded facts {r['superseded_facts']}, "
        f"archived {r['archived']}, never retrieved {r['never_retrieved']}, expiring {r['expiring']}",
        f"retention rules: {r['retention_rules']}", "oldest:",
    ]
    lines += [f"  {o['created_at']}  {o['id']}  {short(o['content'], 60)}" for o in r["oldest"]]
    return "\n".join(lines)


def report(cube: str = CubeOpt, agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """A cube's governance report: counts, duplicates, superseded facts, never retrieved, size, the oldest.

    Example: memos report --cube kb-01M887AY4YGXE2QS4FFZ6M2SD2 --json
    """
    with errors_as_exit(), client(agent) as c:
        _, out = c.request("GET", f"/v1/cubes/{_cube_or_own(c, cube)}/report")
    emit(out, as_json, _report_text)
