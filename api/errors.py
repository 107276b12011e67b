"""The one boundary where errors become HTTP: every error is {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.errors import BacklogFull, MemosError
from storage.disk_space import full_disk, is_disk_full

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    507: "insufficient_storage",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def memos_error_response(exc: MemosError) -> JSONResponse:
    if exc.status >= 500:
        log.error("server error %s: %s", exc.code, exc.message)
    response = error_response(exc.status, exc.code, exc.message)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, BacklogFull):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


async def _memos_error(_: Request, exc: MemosError) -> JSONResponse:
    return memos_error_response(exc)


def _is_json_type(content_type: str) -> bool:
    """What FastAPI parses as a JSON body: application/json or application/*+json (a body with no
    Content-Type is not parsed: FastAPI's strict content type)."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed_request", "the body is not valid JSON")
    if any(e.get("loc", ())[:1] == ("body",) and e.get("type") in ("model_attributes_type", "dict_type")
           and len(e.get("loc", ())) == 1 for e in errors):
        content_type = request.headers.get("content-type", "")
        if not _is_json_type(content_type):
            # A form post is refused here on purpose (no cross-site form can write to a keyless loopback
            # server); the message says what a client such as `curl -d` left out.
            sent = repr(content_type[:100]) if content_type else "none"
            return error_response(400, "malformed_request", "the body must be a JSON object sent with "
                                  f"'Content-Type: application/json' (this request sent {sent})")
        return error_response(400, "malformed_request", "the body must be a JSON object")
    return error_response(422, "invalid", _describe(errors))


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    cause = exc.__cause__
    if isinstance(cause, MemosError):  # FastAPI wraps what the body parser (api/json_route.py) raised
        return memos_error_response(cause)
    if exc.status_code == 400 and cause is not None:  # the body could not be read at all
        return error_response(400, "malformed_request", "the body could not be read")
    code = HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = error_response(exc.status_code, code, message)
    if exc.status_code == 405:
        # Starlette names the methods of the first route that matched the path; the path has more.
        response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
    elif exc.headers:
        response.headers.update(exc.headers)
    return response


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """The methods of this request's path (RFC 9110: a 405 lists them).

    A path the OpenAPI describes gets the methods it states for it, from its most specific template:
    `/v1/memories/batch` is also `/v1/memories/{memory_id}` (a memory may be called "batch"), but it
    is the batch path a client asking about it means. Any other path asks the routes one method at
    a time, so included routers answer by their own rules.
    """
    paths = app.openapi().get("paths", {}) if hasattr(app, "openapi") else {}
    matching = [t for t in paths if re.fullmatch("[^/]+".join(map(re.escape, re.split(r"\{[^}]+\}", t))), scope["path"])]
    if matching:
        fewest = min(t.count("{") for t in matching)
        declared = {m.upper() for t in matching if t.count("{") == fewest for m in paths[t]}
        return [m for m in METHODS if m in declared]
    routes = getattr(app, "routes", ())
    return [m for m in METHODS if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in routes)]


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    if is_disk_full(exc):  # a store that met a full disk without saying so itself
        log.error("disk full: %s", exc)
        return memos_error_response(full_disk(type(exc).__name__))
    log.exception("unhandled error")
    return error_response(500, "internal", "the server failed to handle this request; see its log")


def install(app: FastAPI) -> None:
    app.add_exception_handler(MemosError, _memos_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands an already-read body on once more, then goes on with the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The whole request body, or None as soon as it passes max_bytes (the rest is left unread).

    A client that goes away first raises ClientDisconnect: what arrived of its body is never handed
    on as if whole (issue 13: the fast path stored a cut-off upload that no answer was sent for).
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > max_bytes:
            return None
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def too_large_response(max_bytes: int) -> JSONResponse:
    return error_response(413, "too_large", f"the request body is over {max_bytes} bytes")


class BodyLimit:
    """Refuses bodies over the limit with 413 before the app parses them.

    A declared Content-Length is checked up front; a chunked body is read here, up to the limit,
    and handed on whole. A path in `streamed` (an upload the route spools to disk and counts
    itself, `POST /v1/import`) has its own limit, checked here only when the length is declared.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: dict[str, int] | None = None) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.streamed = streamed or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        own_limit = self.streamed.get(scope.get("path", ""))
        if own_limit is not None and (declared is None or (declared.isdigit() and int(declared) <= own_limit)):
            await self.app(scope, receive, send)
            return
        if declared is not None:
            if not declared.isdigit():  # the HTTP parser normally refuses these first (api/http_protocol.py)
                await error_response(400, "malformed_request", "Content-Length must be a number of bytes")(
                    scope, receive, send)
            elif int(declared) > (own_limit or self.max_bytes):
                await too_large_response(own_limit or self.max_bytes)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.max_bytes)
        except ClientDisconnect:
            return  # nobody is left to answer, and a part of a body is never passed on
        if body is None:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)
