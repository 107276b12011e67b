"""`memos add|get|ls|rm|job`: write and read memories over HTTP (through the SDK, memos_client)."""

from __future__ import annotations

import sys

import typer

from api.cli.output import AgentOpt, CubeOpt, JsonOpt, client, emit, errors_as_exit, fail, short


def _parse_meta(pairs: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--meta takes KEY=VALUE, got {pair!r}")
        meta[key] = value
    return meta


def add(
    text: str = typer.Argument(..., help="The memory's text; '-' reads it from stdin."),
    kind: str = typer.Option("note", help="message | tool_call | image | persona | note"),
    tag: list[str] = typer.Option([], "--tag", "-t", help="A tag (repeatable)."),
    meta: list[str] = typer.Option([], "--meta", "-m", help="Metadata KEY=VALUE (repeatable)."),
    memory_id: str = typer.Option(None, "--id", help="Your own id (repeating it is a no-op)."),
    wait: bool = typer.Option(False, help="Return once the memory is searchable."),
    cube: str = CubeOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add a memory.

    Example: memos add "Alice prefers tea over coffee" --tag prefs --wait
    """
    content = sys.stdin.read() if text == "-" else text
    metadata = _parse_meta(meta)
    with errors_as_exit(), client(agent) as c:
        out = c.add(content, kind=kind, tags=tag, metadata=metadata, memory_id=memory_id or None, cube=cube or None,
                    wait=wait)
    emit(out, as_json, lambda o: f"{o['id']}  {o.get('status', '')}  {o.get('job_id') or ''}".rstrip())


def get(
    memory_id: str = typer.Argument(..., help="The memory's id."),
    cube: str = CubeOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show one memory.

    Example: memos get 01JD3F5Q8M7W2X4Y6Z8A0B1C2D
    """
    with errors_as_exit(), client(agent) as c:
        out = c.get(memory_id, cube=cube)
    emit(out, as_json, lambda m: f"{m['id']}  [{m['kind']}] v{m['version']} {m['status']}  {m['created_at']}\n"
                                  f"tags: {', '.join(m['tags']) or '-'}\n\n{m['content']}")


def ls(
    tag: str = typer.Option(None, help="Only memories with this tag."),
    kind: str = typer.Option(None, help="Only memories of this kind."),
    limit: int = typer.Option(20, min=1, max=1000),
    cursor: str = typer.Option(None, help="Continue from a previous page's next_cursor."),
    cube: str = CubeOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List memories, newest first.

    Example: memos ls --tag prefs --limit 10
    """
    with errors_as_exit(), client(agent) as c:
        out = c.list_memories(tag=tag, kind=kind, limit=limit, cursor=cursor, cube=cube)

    def human(page: dict) -> str:
        lines = [f"{m['id']}  {m['created_at']}  [{m['kind']}] {short(m['content'], 80)}" for m in page["items"]]
        if page["next_cursor"]:
            lines.append(f"more: --cursor {page['next_cursor']}")
        return "\n".join(lines) or "(no memories)"

    emit(out, as_json, human)


def rm(
    memory_id: str = typer.Argument(..., help="The memory's id."),
    cube: str = CubeOpt,
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Delete a memory from its cube and every index.

    Example: memos rm 01JD3F5Q8M7W2X4Y6Z8A0B1C2D
    """
    with errors_as_exit(), client(agent) as c:
        queued = c.delete(memory_id, cube=cube)
    result = {"id": memory_id, "deleted": queued is None, **({"job_id": queued.job_id} if queued else {})}
    emit(result, as_json, lambda r: f"deleted {r['id']}" if r["deleted"] else f"queued {r['id']} ({r['job_id']})")


def job(
    job_id: str = typer.Argument(..., help="A job id from add, batch or reindex."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show a job's progress.

    Example: memos job job-01JD3F5Q8M7W2X4Y6Z8A0B1C2D
    """
    with errors_as_exit(), client(agent) as c:
        out = c.job(job_id)
    emit(out, as_json, lambda j: f"{j['id']}  {j['status']}  {j['done']}/{j['total']} done, {j['failed']} failed")
