"""The `memos` entry point: registers each command group's commands on one typer app."""

from __future__ import annotations

import typer

from api.cli import auth, cubes, interchange, keys, mcp, memories, reindex, repair, search, serve
from api.cli import governance
from api.cli import hub

app = typer.Typer(
    name="memos",
    help="MemOS: persistent memory for AI agents. Talks HTTP to MEMOS_URL (default http://127.0.0.1:8765).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve.serve)
app.command()(mcp.mcp)
app.command()(memories.add)
app.command()(search.search)
app.command()(memories.get)
app.command()(memories.ls)
app.command()(memories.rm)
app.command()(memories.job)
app.command()(reindex.reindex)
app.command()(repair.repair)
app.command("import")(interchange.import_file)
app.command("export")(interchange.export)
app.add_typer(keys.app, name="keys")
app.add_typer(auth.app, name="auth")
app.add_typer(cubes.app, name="cubes")
app.command()(governance.cleanup)
app.command()(governance.report)
app.add_typer(governance.tag_app, name="tag")
app.add_typer(governance.retention_app, name="retention")
app.add_typer(hub.app, name="hub")
app.add_typer(hub.skills_app, name="skills")
for command in (cubes.grant, cubes.revoke, cubes.mount, cubes.unmount, cubes.share, cubes.audit):
    app.command()(command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
