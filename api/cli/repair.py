"""`memos repair`: find stored memories that cannot be read and fix them, on MEMOS_DATA_DIR directly."""

from __future__ import annotations

import typer
from rich.progress import Progress

from api.cli.output import JsonOpt, emit, errors_as_exit, settings


def repair(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report what cannot be read; change nothing."),
    cube: str = typer.Option(None, "--cube", help="Only this cube (default: every cube)."),
    as_json: bool = JsonOpt,
) -> None:
    """Find memories that no read can show (a time outside years 1-9999, JSON that is not JSON,
    text that is not UTF-8) and rewrite their bad values; reads leave such memories out until then.

    Works on MEMOS_DATA_DIR directly, beside a running server or without one. --json prints
    {"cubes", "damaged": [{"cube", "id", "reason", "fixed"}], "fixed"}.

    Example: memos repair --dry-run
    """
    from service.repair import repair_cubes
    from storage.paths import DataPaths

    with errors_as_exit():
        paths = DataPaths(settings().data_dir)
        with Progress(transient=True) as bar:
            task = bar.add_task("checking cubes", total=None)
            report = repair_cubes(paths, fix=not dry_run, cube=cube, progress=lambda _: bar.advance(task))
    emit(report, as_json, lambda r: _human(r, dry_run))


def _human(report: dict, dry_run: bool) -> str:
    lines = [f"{d['cube']} {d['id']}: {d['reason']}" + (f" (fixed {', '.join(d['fixed'])})" if d["fixed"] else "")
             for d in report["damaged"]]
    verb = "found" if dry_run else "repaired"
    lines.append(f"{report['cubes']} cube(s) checked, {len(report['damaged'])} unreadable memory(ies) {verb}")
    return "\n".join(lines)
