"""`POST /v1/memories` as multipart/form-data: an image in the part `file`, the usual fields as form fields.

The accept fast path (api/accept_fast_path.py) takes JSON only, so a multipart write always comes
here, through the route: `MemoryWriteRoute` sends it to `accept_multipart` and every other body
to the route's own JSON handler. The form becomes the same `MemoryIn` a JSON write is (so it is
held to the same rules) and the same service call; only the image's bytes come from the part.

A multipart body is one a form on any web site can send without asking (a CORS "simple"
request), so a multipart write must name its caller with `X-Agent-Id` or `Authorization`,
headers such a form cannot set: a keyless loopback server is no more writable from a web page
than it was (the JSON-only rule in api/errors.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api import deps
from api.json_route import JsonRoute
from api.memory_input import accept_status, new_memory
from api.schemas import MemoryIn
from pipeline.errors import ImageTooLarge, Invalid, MalformedRequest
from pipeline.input_bounds import parse_json_body

# Form fields that may be sent more than once (the JSON form's arrays).
_LISTS = ("tags", "source_ids")
_JSON_FIELDS = ("metadata",)
_INT_FIELDS = ("ttl_s",)
_BOOL_FIELDS = ("keep_gps",)
_TEXT_FIELDS = ("content", "kind", "id", "created_at", "cube", "episode", "expires_at")
_FIELDS = frozenset((*_LISTS, *_JSON_FIELDS, *_INT_FIELDS, *_BOOL_FIELDS, *_TEXT_FIELDS, "file"))
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")  # as FastAPI reads a bool
MAX_FORM_FIELDS = 200  # 64 tags and 100 source ids, and the rest
MAX_FIELD_BYTES = 1_000_000

# What the OpenAPI says of the multipart form (the JSON form is MemoryIn's own schema).
MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The image (JPEG, PNG, GIF or WebP)."},
        "content": {"type": "string", "description": "What the image is (default: `image`); indexed."},
        "kind": {"type": "string", "enum": ["image"]},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "One field per tag."},
        "metadata": {"type": "string", "description": "A JSON object, as text (`caption` is indexed)."},
        "id": {"type": "string"}, "created_at": {"type": "string"}, "cube": {"type": "string"},
        "episode": {"type": "string"}, "expires_at": {"type": "string"}, "ttl_s": {"type": "integer"},
        "source_ids": {"type": "array", "items": {"type": "string"}},
        "keep_gps": {"type": "boolean", "description": "Keep the image's GPS tags (removed by default)."},
    },
}


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower() == "multipart/form-data"


class MemoryWriteRoute(JsonRoute):
    """The accept route: multipart bodies to `accept_multipart`, the rest to the JSON route as ever."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        json_handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if is_multipart(request):
                return await accept_multipart(request)
            return await json_handler(request)

        return route


async def accept_multipart(request: Request) -> JSONResponse:
    names_caller = any(k in (b"x-agent-id", b"authorization") for k, _ in request.scope.get("headers") or [])
    if not names_caller:
        raise MalformedRequest("a multipart write names its caller with X-Agent-Id (or Authorization when auth is on); "
                               "a form on another web site cannot send either")
    rt = await deps.runtime(request)
    caller = await deps.caller(request, rt)
    wait = request.query_params.get("wait", "false").lower()
    if wait not in _TRUE + _FALSE:
        raise Invalid("wait: must be true or false")
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("a multipart write sends the image in a part named `file`")
        raw = await upload.read(rt.settings.max_image_bytes + 1)
        if len(raw) > rt.settings.max_image_bytes:
            raise ImageTooLarge(f"the image is over {rt.settings.max_image_bytes} bytes")
        body = _memory_in(form)
    finally:
        await form.close()
    new = replace(new_memory(body), image=raw)
    accepted = await rt.memories.add(caller, new, wait in _TRUE)
    return JSONResponse(accepted.body(), status_code=accept_status(accepted))


def _memory_in(form: FormData) -> MemoryIn:
    """The form's fields as the JSON write they stand for, validated as one."""
    unknown = sorted(set(form.keys()) - _FIELDS)
    if unknown:
        raise Invalid(f"{unknown[0][:64]}: Extra inputs are not permitted")
    data: dict[str, Any] = {"kind": "image", "content": "image"}
    for name in _TEXT_FIELDS:
        if name in form:
            data[name] = _text(form, name)
    for name in _LISTS:
        if name in form:
            data[name] = [_str(v, name) for v in form.getlist(name)]
    if "metadata" in form:
        # Held to the bounds of every JSON body (depth, numbers, surrogates): pipeline/input_bounds.py.
        data["metadata"] = parse_json_body(_text(form, "metadata").encode())
    if "ttl_s" in form:
        text = _text(form, "ttl_s")
        if not text.lstrip("-").isdigit() or len(text) > 20:
            raise Invalid("ttl_s: must be an integer")
        data["ttl_s"] = int(text)
    if "keep_gps" in form:
        text = _text(form, "keep_gps").lower()
        if text not in _TRUE + _FALSE:
            raise Invalid("keep_gps: must be true or false")
        data["keep_gps"] = text in _TRUE
    try:
        return MemoryIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise Invalid(f"{where}: {first.get('msg', 'invalid')}") from None


def _text(form: FormData, name: str) -> str:
    values = form.getlist(name)
    if len(values) != 1:
        raise Invalid(f"{name}: send it once")
    return _str(values[0], name)


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{name}: must be a form field, not a file")
    if "\x00" in value:
        raise Invalid(f"{name}: must not hold NUL characters")
    return value
