"""/v1/import, /v1/export, /v1/interchange/schema: bundles in and out (service/interchange.py does the work)."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect
from starlette.datastructures import UploadFile

from api.deps import CallerDep, RuntimeDep
from api.schemas import CubeId, ErrorOut
from pipeline.errors import Invalid, MalformedRequest, TooLarge
from service.interchange import EXPORT_FORMATS

IMPORT_PATH = "/v1/import"
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,12}$")
_BY_TYPE = {"application/json": ".json", "application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl",
            "application/zip": ".zip", "application/vnd.apache.parquet": ".parquet"}

router = APIRouter(
    prefix="/v1",
    tags=["interchange"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

ImportFormat = Annotated[str, Query(max_length=40, pattern=r"^[a-z0-9-]+$",
                                    description="`auto` (detected), `memos`, `markdown`, `rows`, or another "
                                                "system's format (see docs/interchange.md).")]
OnConflict = Literal["skip", "overwrite", "new-ids"]


def _suffix(filename: str | None) -> str:
    """The upload's own suffixes (`.memos.jsonl`, `.parquet`), which detection may read; nothing else of its name."""
    parts = [s for s in Path(filename or "").suffixes[-2:] if _SUFFIX.fullmatch(s)]
    return "".join(parts).lower()


async def _spool(request: Request, folder: Path, limit: int) -> Path:
    """The request's file on disk: a multipart `file` field, or the raw body (JSON, JSON lines, ZIP, Parquet)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=8)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("a multipart import sends the file in a field named `file`")
        target = folder / f"upload{_suffix(upload.filename) or '.bin'}"
        written = 0
        with target.open("wb") as out:
            while block := await upload.read(1 << 20):
                written += len(block)
                if written > limit:
                    raise TooLarge(f"the import file is over {limit} bytes")
                out.write(block)
        return target
    target = folder / f"upload{_BY_TYPE.get(kind, '.bin')}"
    written = 0
    with target.open("wb") as out:
        try:
            async for block in request.stream():
                written += len(block)
                if written > limit:
                    raise TooLarge(f"the import file is over {limit} bytes")
                out.write(block)
        except ClientDisconnect:
            # A cut-off upload is never imported; nobody is left to read this answer.
            raise MalformedRequest("the upload was cut off before its end") from None
    if written == 0:
        raise MalformedRequest("the import has no file: send it as the body, or as the multipart field `file`")
    if kind == "application/json":
        return _json_body(target)
    return target


def _json_body(path: Path) -> Path:
    """A JSON body: an array of interchange objects becomes JSON lines of them; anything else (another
    system's JSON document) stays as it was sent, for detection."""
    try:
        value = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"the body is not valid JSON ({exc})") from None
    if isinstance(value, list) and value and all(isinstance(v, dict) and "object" in v for v in value):
        lines = path.with_suffix(".objects.jsonl")
        with lines.open("wb") as out:
            for item in value:
                out.write(orjson.dumps(item) + b"\n")
        path.unlink()
        return lines
    return path


@router.post(IMPORT_PATH.removeprefix("/v1"), status_code=202, openapi_extra={"requestBody": {
    "required": True,
    "description": "The file: a multipart upload (field `file`), or the body itself: a JSON document (an array "
                   "of interchange objects, or another system's export), JSON lines, a ZIP or Parquet.",
    "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
        "application/json": {"schema": {}}, "application/x-ndjson": {"schema": {"type": "string"}},
        "application/zip": {"schema": {"type": "string", "format": "binary"}}}}},
    responses={413: {"model": ErrorOut}, 415: {"model": ErrorOut}})
async def import_file(
    request: Request,
    rt: RuntimeDep,
    caller: CallerDep,
    format: ImportFormat = "auto",
    cube: Annotated[CubeId | None, Query()] = None,
    dry_run: bool = False,
    on_conflict: OnConflict = "skip",
) -> JSONResponse:
    """Import a file into a cube (default: your own; you need write). The whole file is checked
    first: an invalid one is refused (422, naming the line and field) and nothing is written. Then
    a job plans and writes it; follow it with `GET /v1/import/{job_id}`."""
    folder = rt.interchange.upload_dir()
    try:
        path = await _spool(request, folder, rt.settings.max_import_bytes)
        started = await asyncio.to_thread(rt.interchange.start_import, caller, path, format, cube,
                                          dry_run=dry_run, on_conflict=on_conflict)
    except BaseException:
        await asyncio.to_thread(_remove, folder)
        raise
    return JSONResponse(started, status_code=202, headers={"Location": f"{IMPORT_PATH}/{started['job_id']}"})


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@router.get(IMPORT_PATH.removeprefix("/v1") + "/{job_id}")
def import_status(job_id: str, rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    """An import's progress (`done` of `total` objects) and counts: added, updated, skipped, errors."""
    return rt.interchange.import_report(caller, job_id)


@router.get("/export", response_class=StreamingResponse, responses={
    200: {"description": "The bundle, streamed.", "content": {
        "application/x-ndjson": {"schema": {"type": "string"}},
        "application/zip": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    415: {"model": ErrorOut}})
async def export_bundle(
    rt: RuntimeDep,
    caller: CallerDep,
    format: Literal[EXPORT_FORMATS] = "memos",  # type: ignore[valid-type]
    cube: Annotated[CubeId | None, Query()] = None,
    container: Literal["jsonl", "zip"] = "jsonl",
    vectors: bool | None = None,
) -> StreamingResponse:
    """A cube (default: your own; you need read), streamed. `memos` is the interchange bundle
    (`container` jsonl or zip; vectors by default in a zip only), `markdown` the vault as a ZIP,
    the others another system's format. An error before the first byte is an error status; a
    `.memos.jsonl` cut short mid-stream has no manifest line, which its readers refuse."""
    stream = await asyncio.to_thread(rt.interchange.export, caller, cube, format, container, vectors)
    first = await asyncio.to_thread(next, stream.chunks, b"")
    return StreamingResponse(itertools.chain([first], stream.chunks), media_type=stream.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{stream.filename}"'})


@router.get("/interchange/schema")
def interchange_schema(rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    """The JSON Schema of one object of a bundle (docs/interchange/v1.schema.json)."""
    return rt.interchange.schema()
