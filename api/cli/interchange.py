"""`memos export` and `memos import`: a cube to a file, and a file (ours or another system's) into a cube.

Both talk to the server at MEMOS_URL as the CLI's caller (`GET /v1/export`, `POST /v1/import`);
`memos import --offline` runs the same import engine on a local Ray with the server stopped
(service/importer.py). Progress goes to stderr; `--json` prints one document on stdout.
"""

from __future__ import annotations

import os
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn

from api.cli.output import AgentOpt, CubeOpt, JsonOpt, client, emit, errors_as_exit, fail, settings
from pipeline.errors import Invalid, MemosError

NEW_FORMATS = ("memos", "markdown", "mem0", "letta", "memos-plugin", "pam")
OLD_FORMATS = ("jsonl", "parquet")  # the flat memory view of GET /v1/cubes/{id}/export
POLL_S = 0.3


@contextmanager
def _progress(as_json: bool, label: str, total: int | None = None, download: bool = False):
    """A transient bar on stderr (none with --json: stdout stays one JSON document)."""
    if as_json:
        yield lambda n, total=None: None
        return
    columns = ([TextColumn(label), BarColumn(), DownloadColumn()] if download
               else [TextColumn(label), BarColumn(), MofNCompleteColumn()])
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n, total=None: bar.update(task, completed=n, total=total)


# --- export --------------------------------------------------------------------------------------


def export(
    cube_arg: str = typer.Argument(None, metavar="[CUBE]", help="The cube (same as --cube; default: your own)."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write; for `memos`, a name ending .zip makes a .memos.zip."),
    fmt: str = typer.Option("memos", "--format", help="memos | markdown | mem0 | letta | memos-plugin | pam; "
                                                      "jsonl | parquet: the flat list of memories only."),
    cube: str = CubeOpt,
    vectors: bool = typer.Option(None, "--vectors/--no-vectors", help="memos: include vectors (default: in a .zip only)."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Export a cube you can read: every record of every tier, episodes, links, feedback and versions.

    Example: memos export --format memos --cube kb-01M887AY4YGXE2QS4FFZ6M2SD2 -o runbooks.memos.jsonl
             memos export --format markdown -o vault.zip
    """
    target_cube = cube or cube_arg
    if fmt not in NEW_FORMATS + OLD_FORMATS:
        fail(f"invalid: --format {fmt!r} is not one of {', '.join(NEW_FORMATS + OLD_FORMATS)}")
    with errors_as_exit():
        if fmt in OLD_FORMATS:
            if target_cube is None:
                raise Invalid("the jsonl and parquet exports name their cube")
            path, params = f"/v1/cubes/{target_cube}/export", {"format": fmt}
        else:
            container = "zip" if fmt == "memos" and out.suffix.lower() == ".zip" else "jsonl"
            path, params = "/v1/export", {"format": fmt, "cube": target_cube, "container": container,
                                          "vectors": vectors}
        part = out.with_name(out.name + ".part")
        try:
            with client(agent) as c, c.stream("GET", path, params=params) as chunks, \
                    _progress(as_json, f"exporting to {out.name}", download=True) as show, part.open("wb") as f:
                written = 0
                for chunk in chunks:
                    f.write(chunk)
                    written += len(chunk)
                    show(written)
            records = _records_in(part, fmt, params.get("container"))
            part.replace(out)
        finally:
            part.unlink(missing_ok=True)
    emit({"path": str(out), "records": records}, as_json, lambda o: f"wrote {o['records']} records to {o['path']}")


def _records_in(path: Path, fmt: str, container: str | None) -> int:
    """Memories in what was written; a .memos.jsonl without its manifest line was cut short and is refused."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    if fmt == "jsonl":
        with path.open("rb") as f:
            return sum(1 for line in f if line.strip())
    if fmt == "memos" and container == "jsonl":
        last = _last_line(path)
        manifest = orjson.loads(last) if last else {}
        if manifest.get("object") != "manifest":
            raise Invalid("the export ended before its manifest: the server stopped mid-stream; nothing was written")
        return int(manifest["counts"].get("memory", 0))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            if "manifest.json" in zf.namelist():
                return int(orjson.loads(zf.read("manifest.json")).get("counts", {}).get("memory", 0))
    return _count_foreign(path, fmt)


def _last_line(path: Path) -> bytes:
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        back = min(size, 1 << 20)
        f.seek(size - back)
        lines = f.read().rstrip(b"\n").rsplit(b"\n", 1)
        return lines[-1] if lines else b""


def _count_foreign(path: Path, fmt: str) -> int:
    """Memories an export in another system's format holds, read back with that format's reader."""
    from pipeline.interchange import formats

    try:
        return sum(1 for obj in formats.reader(fmt)(path) if obj.get("object") == "memory")
    except (MemosError, ValueError, OSError):  # a format whose reader cannot read its writer's file back
        return 0


# --- import --------------------------------------------------------------------------------------


def import_file(
    path: Path = typer.Argument(..., help="A file or folder: .memos.jsonl/.memos.zip, a Markdown vault, a table "
                                          "of rows (.jsonl/.parquet), or another system's export."),
    fmt: str = typer.Option("auto", "--format", help="auto | memos | markdown | rows | pam | memos-plugin | openclaw "
                                                     "| hermes | mem0 | letta | basic-memory | chatgpt | claude"),
    cube: str = CubeOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be added, updated and skipped; write nothing."),
    on_conflict: str = typer.Option("skip", "--on-conflict", help="A stored memory the file changes at another "
                                                                  "version: skip | overwrite | new-ids."),
    offline: bool = typer.Option(False, help="Server stopped: write MEMOS_DATA_DIR directly with a local Ray job."),
    near_duplicates: bool = typer.Option(False, help="Offline: also link near duplicates (slower on big files)."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import a file (ours or another system's export) into a cube, default your own.

    The whole file is checked first; an invalid one is refused, naming the line and field, and
    nothing is written. Importing the same file again stores nothing new; an edited vault file
    becomes the next version of its memory. Exit code 1 when some objects failed to be written.

    Example: memos import cube.memos.jsonl --dry-run --json
             memos import ./vault --on-conflict overwrite
             memos import conversations.json --format chatgpt --cube kb-01M887AY4YGXE2QS4FFZ6M2SD2
    """
    if on_conflict not in ("skip", "overwrite", "new-ids"):
        fail(f"invalid: --on-conflict {on_conflict!r} is not one of skip, overwrite, new-ids")
    with errors_as_exit():
        if not path.exists():
            raise Invalid(f"{path}: no such file or folder")
        run = _offline if offline else _online
        counts = run(path, fmt, cube, agent, dry_run, on_conflict, near_duplicates, as_json)
    emit(counts, as_json, lambda t: ("would add" if dry_run else "added") + f" {t['added']}, "
         f"{'update' if dry_run else 'updated'} {t['updated']}, skipped {t['skipped']}, errors {t['errors']}")
    if counts["errors"]:
        raise typer.Exit(1)


def _upload_body(path: Path, tmp: Path) -> Path:
    """A folder (a vault, basic-memory notes, an OpenClaw dir) travels as a ZIP of its files."""
    if not path.is_dir():
        return path
    out = tmp / f"{path.name or 'folder'}.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                zf.write(file, str(file.relative_to(path)))
    return out


def _online(path: Path, fmt: str, cube: str | None, agent: str | None, dry_run: bool, on_conflict: str,
            _near: bool, as_json: bool) -> dict[str, int]:
    import httpx
    from memos_client.transport import base_headers, finish, unreachable

    s = settings()
    params = {k: v for k, v in {"format": fmt, "cube": cube, "dry_run": str(dry_run).lower(),
                                "on_conflict": on_conflict}.items() if v is not None}
    headers = base_headers(s.api_key, agent or s.agent, None)
    with tempfile.TemporaryDirectory(prefix="memos-import-") as tmp:
        body = _upload_body(path, Path(tmp))
        # The SDK's calls send JSON; a file goes up as a multipart stream, with the SDK's headers and errors.
        with httpx.Client(base_url=s.url, headers=headers, timeout=httpx.Timeout(60.0, read=3600.0)) as http:
            try:
                with body.open("rb") as f:
                    started = finish(http.post("/v1/import", params=params, files={"file": (body.name, f)})).body
            except httpx.TransportError as exc:
                raise unreachable(s.url, exc) from exc
    job_id = started["job_id"]
    with client(agent) as c, _progress(as_json, f"importing {path.name}", started.get("total")) as show:
        while True:
            _, report = c.request("GET", f"/v1/import/{job_id}")
            show(report["done"], report["total"])
            if report["status"] != "running":
                break
            time.sleep(POLL_S)
    if report["status"] == "failed":
        raise Invalid(f"the import failed: {report.get('error')} (what was written stays; run it again to finish)")
    return _counts(report)


def _counts(report: dict[str, Any]) -> dict[str, int]:
    return {k: int(report[k]) for k in ("added", "updated", "skipped", "errors")}


def _offline(path: Path, fmt: str, cube: str | None, agent: str | None, dry_run: bool, on_conflict: str,
             near: bool, as_json: bool) -> dict[str, int]:
    from pipeline.interchange.plan import OnConflict
    from service.importer import OfflineImport, offline_import

    s = settings()
    job = OfflineImport(path, cube, agent or s.agent, fmt, dry_run, OnConflict(on_conflict), near)
    with _progress(as_json, f"importing {path.name}") as show:
        _, tally = offline_import(s, job, progress=lambda done, total: show(done, total))
    return tally.summary()
