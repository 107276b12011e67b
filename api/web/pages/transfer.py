"""Import: upload a file in any format the server imports, with a progress bar while its job runs;
export a cube in any format the server writes, as a download. Both go through the interchange service
(service/interchange.py), as `POST /v1/import` and `GET /v1/export` do."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response, StreamingResponse

from api.web.page import PageRoute, Ui, UiDep, see_other
from pipeline.errors import Invalid, MemosError, TooLarge
from pipeline.interchange.formats import NAMES as OTHER_FORMATS
from pipeline.interchange.sources import MARKDOWN, MEMOS, ROWS

router = APIRouter(route_class=PageRoute, include_in_schema=False)
IMPORT_FORMATS = ("auto", MEMOS, MARKDOWN, ROWS, *OTHER_FORMATS)
# What the export form offers -> (format, container) for InterchangeService.export.
EXPORTS = {"memos": ("memos", "jsonl"), "memos-zip": ("memos", "zip"), "markdown": ("markdown", "zip"),
           **{name: (name, "jsonl") for name in ("mem0", "letta", "memos-plugin", "pam")}}
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,12}$")
KEPT_IMPORTS = 20  # listed per session


def _cubes(ui: Ui, roles: tuple[str, ...]) -> list[dict]:
    return [c for c in ui.rt.cubes.list(ui.caller) if c["role"] in roles]


def _import_page(ui: Ui, problem: str | None = None) -> Response:
    return ui.page("import.html", "Import", title="Import and export", writable=_cubes(ui, ("write", "admin")),
                   readable=_cubes(ui, ("read", "write", "admin")), import_formats=IMPORT_FORMATS,
                   exports=list(EXPORTS), recent=list(reversed(ui.session.imports.values())), problem=problem)


@router.get("/ui/import")
def import_page(ui: UiDep) -> Response:
    return _import_page(ui)


def _suffix(filename: str) -> str:
    """The upload's own suffixes (`.memos.jsonl`, `.parquet`), which format detection may read; nothing else."""
    return "".join(s for s in FilePath(filename).suffixes[-2:] if _SUFFIX.fullmatch(s)).lower() or ".bin"


@router.post("/ui/import")
async def start_import(
    ui: UiDep, file: Annotated[UploadFile, File()], cube: Annotated[str, Form(max_length=200)] = "",
    format: Annotated[str, Form(max_length=40)] = "auto",
    on_conflict: Annotated[Literal["skip", "overwrite", "new-ids"], Form()] = "skip",
) -> Response:
    """Checks the whole file (a bad one is refused here and writes nothing), starts its import job and
    sends the browser to the job's progress page."""
    rt = ui.rt
    name = FilePath(file.filename or "upload").name[:200]
    folder = rt.interchange.upload_dir()
    try:
        path = folder / f"upload{_suffix(name)}"
        written = 0
        with path.open("wb") as out:
            while block := await file.read(1 << 20):
                written += len(block)
                if written > rt.settings.max_import_bytes:
                    raise TooLarge(f"the import file is over {rt.settings.max_import_bytes} bytes")
                out.write(block)
        started = await asyncio.to_thread(rt.interchange.start_import, ui.caller, path, format, cube or None,
                                          dry_run=False, on_conflict=on_conflict)
    except MemosError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        # The form's answer, shown on the form (the page itself is fine): which line and field is wrong.
        return _import_page(ui, problem=f"{name}: {exc.message}")
    ui.session.imports[started["job_id"]] = {"id": started["job_id"], "name": name, "cube": started["cube"]}
    while len(ui.session.imports) > KEPT_IMPORTS:
        ui.session.imports.pop(next(iter(ui.session.imports)))
    return see_other(f"/ui/import/{started['job_id']}")


@router.get("/ui/import/{job_id}")
def import_status(ui: UiDep, job_id: Annotated[str, Path(max_length=64)]) -> Response:
    """The job's progress; while it runs, the page polls this (htmx swaps in the progress section)."""
    report = ui.rt.interchange.import_report(ui.caller, job_id)  # only the agent that started it sees it
    name = ui.session.imports.get(job_id, {}).get("name", job_id)
    total = report["total"]
    state = {**report, "name": name, "finished": report["status"] != "running",
             "percent": 100 if total == 0 else min(100, int(100 * report["done"] / total))}
    template = "partials/import_progress.html" if ui.is_htmx else "import_status.html"
    return ui.page(template, "Import", title="Import", job=state)


@router.get("/ui/export")
async def export(ui: UiDep, cube: Annotated[str, Query(min_length=1, max_length=200)],
                 format: Annotated[str, Query(max_length=40)] = "memos") -> Response:
    if format not in EXPORTS:
        raise Invalid(f"export format must be one of {', '.join(EXPORTS)}")
    fmt, container = EXPORTS[format]
    stream = await asyncio.to_thread(ui.rt.interchange.export, ui.caller, cube, fmt, container, None)
    return StreamingResponse(stream.chunks, media_type=stream.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{stream.filename}"'})
