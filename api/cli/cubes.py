"""`memos cubes …`, `grant`, `revoke`, `mount`, `unmount`, `share`, `audit`, `export`: sharing over HTTP."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.output import AgentOpt, JsonOpt, client, emit, errors_as_exit, short

app = typer.Typer(help="Knowledge-base cubes: create, list, remove.", no_args_is_help=True)


def _cube_line(c: dict) -> str:
    flags = " mounted" if c.get("mounted") else ""
    return f"{c['id']}  {c['kind']:<7} {c['role'] or '-':<5} owner={c['owner']}{flags}  {c['name']}"


@app.command()
def create(
    name: str = typer.Argument(..., help="A name people recognise."),
    description: str = typer.Option("", help="What the cube holds."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create a knowledge-base cube that you own.

    Example: memos cubes create "team runbooks" --description "how we operate prod"
    """
    with errors_as_exit(), client(agent) as c:
        out = c.create_cube(name, description=description)
    emit(out, as_json, _cube_line)


@app.command("ls")
def list_cubes(agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """Your cube and every cube you hold a role on.

    Example: memos cubes ls --json
    """
    with errors_as_exit(), client(agent) as c:
        out = c.list_cubes()
    emit(out, as_json, lambda cubes: "\n".join(_cube_line(x) for x in cubes))


@app.command("rm")
def remove(cube: str = typer.Argument(..., help="The cube's id."), agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """Delete a knowledge-base cube with all its memories (owner or admin key).

    Example: memos cubes rm kb-01M887AY4YGXE2QS4FFZ6M2SD2
    """
    with errors_as_exit(), client(agent) as c:
        c.delete_cube(cube)
    emit({"id": cube, "deleted": True}, as_json, lambda o: f"deleted {o['id']}")


def grant(
    cube: str = typer.Argument(..., help="The cube's id."),
    agent_name: str = typer.Argument(..., metavar="AGENT", help="Who gets the role."),
    role: str = typer.Argument(..., help="read | write | admin"),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Give an agent a role on a cube you administer.

    Example: memos grant kb-01M887AY4YGXE2QS4FFZ6M2SD2 bob read
    """
    with errors_as_exit(), client(agent) as c:
        out = c.grant(cube, agent_name, role)
    emit(out, as_json, lambda m: f"{m['agent']} now has {m['role']} on {cube}")


def revoke(
    cube: str = typer.Argument(..., help="The cube's id."),
    agent_name: str = typer.Argument(..., metavar="AGENT", help="Whose role to take away."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Take an agent's role on a cube away.

    Example: memos revoke kb-01M887AY4YGXE2QS4FFZ6M2SD2 bob
    """
    with errors_as_exit(), client(agent) as c:
        c.revoke(cube, agent_name)
    emit({"cube": cube, "agent": agent_name, "revoked": True}, as_json, lambda o: f"revoked {o['agent']} on {o['cube']}")


def mount(cube: str = typer.Argument(..., help="A cube you can read."), agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """Search a cube by default, beside your own.

    Example: memos mount kb-01M887AY4YGXE2QS4FFZ6M2SD2
    """
    with errors_as_exit(), client(agent) as c:
        out = c.mount(cube)
    emit(out, as_json, lambda x: f"mounted {x['id']} ({x['name']})")


def unmount(cube: str = typer.Argument(..., help="A mounted cube."), agent: str = AgentOpt, as_json: bool = JsonOpt) -> None:
    """Stop searching a cube by default.

    Example: memos unmount kb-01M887AY4YGXE2QS4FFZ6M2SD2
    """
    with errors_as_exit(), client(agent) as c:
        c.unmount(cube)
    emit({"cube": cube, "mounted": False}, as_json, lambda o: f"unmounted {o['cube']}")


def share(
    memory_id: str = typer.Argument(..., help="A memory you can read."),
    to: str = typer.Option(..., "--to", help="The cube to copy it into (you need write)."),
    from_cube: str = typer.Option(None, "--from", help="The cube holding it, if the id is ambiguous."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Copy a memory into another cube, with provenance back to the original.

    Example: memos share 01M887AY4YGXE2QS4FFZ6M2SD2 --to kb-01M887B4R61DMCBQVGREWZ1KX8
    """
    with errors_as_exit(), client(agent) as c:
        out = c.share(memory_id, to=to, from_cube=from_cube)
    emit(out, as_json, lambda m: f"shared as {m['id']} in {m.get('cube', to)}")


def audit(
    cube: str = typer.Option(None, "--cube", help="Only this cube's events (needs admin on it)."),
    limit: int = typer.Option(50, min=1, max=1000),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Grants, revokes, shares, mounts and cube changes, newest first.

    Example: memos audit --cube kb-01M887AY4YGXE2QS4FFZ6M2SD2 --limit 20
    """
    with errors_as_exit(), client(agent) as c:
        out = c.audit(cube=cube, limit=limit)
    emit(out, as_json, lambda page: "\n".join(
        f"{e['at']}  {e['actor']:<12} {e['action']:<14} {e['cube'] or '-'} {e['target'] or ''} {e['memory_id'] or ''}".rstrip()
        for e in page["events"]) or "(no events)")


def export(
    cube: str = typer.Argument(..., help="A cube you can read."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl | parquet"),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Export every memory of a cube to a file.

    Example: memos export kb-01M887AY4YGXE2QS4FFZ6M2SD2 --out runbooks.parquet --format parquet
    """
    with errors_as_exit(), client(agent) as c:
        _, body = c.call("GET", f"/v1/cubes/{cube}/export", params={"format": fmt})
        data = body if isinstance(body, bytes) else b""
        out.write_bytes(data)
    emit({"cube": cube, "path": str(out), "bytes": len(data)}, as_json, lambda o: f"wrote {o['bytes']} bytes to {o['path']}")
