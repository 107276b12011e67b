"""`memos search`: hybrid search over your memories."""

from __future__ import annotations

import typer

from api.cli.output import AgentOpt, JsonOpt, client, emit, errors_as_exit, short


def search(
    query: str = typer.Argument(..., help="What to look for."),
    top_k: int = typer.Option(10, "--top-k", "-k", min=1, max=100),
    tag: list[str] = typer.Option([], "--tag", "-t", help="Only memories with one of these tags."),
    kind: list[str] = typer.Option([], "--kind", help="Only memories of these kinds."),
    cube: list[str] = typer.Option([], "--cube", help="Search these cubes (repeatable); default: yours + mounts."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Search memories (BM25 and vectors, fused).

    Example: memos search "what does alice drink" -k 5
    """
    with errors_as_exit(), client(agent) as c:
        out = c.search(query, top_k=top_k, tags=tag or None, kinds=kind or None, cubes=cube or None)

    def human(res: dict) -> str:
        rows = [f"{r['score']:.4f}  {r['cube']}  {r['id']}  {short(r['content'])}" for r in res["results"]]
        return "\n".join(rows) or "(no results)"

    emit(out, as_json, human)
