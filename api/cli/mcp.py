"""`memos mcp`: MemOS as an MCP server on stdin/stdout, for clients that start their servers themselves."""

from __future__ import annotations

import typer

from api.cli.output import errors_as_exit, fail, settings


def mcp() -> None:
    """Serve MCP over stdio, relaying to the MemOS server at MEMOS_URL with MEMOS_API_KEY.

    The server must be running (memos serve); this process holds one MCP session with its /mcp
    endpoint and forwards every request, so a stdio client sees what its key may see.

    Example: MEMOS_URL=http://127.0.0.1:8765 MEMOS_API_KEY=mk_... memos mcp
    """
    import anyio

    from api.mcp_server.stdio_bridge import first_cause, run_bridge

    with errors_as_exit():
        s = settings()
    try:
        anyio.run(run_bridge, s.url, s.api_key, s.agent)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the one line a stdio client shows; stdout belongs to the protocol
        cause = first_cause(exc)
        fail(f"mcp: {type(cause).__name__}: {cause} (is `memos serve` running at {s.url}?)")
    raise typer.Exit(0)
