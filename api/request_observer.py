"""The app's outermost layer (inside Starlette's error layer): each request's id, metrics and access line.

It wraps everything else, the accept fast path included, so one place sees every answer: the
fast path's, the routes', BodyLimit's 413s and the error handlers'. Per request it does one pass
over the headers, sets a context variable and wraps `send`, then, once the answer is out, updates
two pre-built metric children and writes one access line. Pure ASGI like the fast path, not
BaseHTTPMiddleware, which would run each request through an extra task and memory stream.

- `X-Request-Id`: a client's value is kept when it is 1-128 of `A-Za-z0-9._:=+/-` (anything else
  could forge log lines or carry a payload), otherwise one is generated; either way it is echoed
  on the answer and carried by every log line written while serving the request.
- The access line holds the request id, method, route template (never the path: it may hold ids
  the client chose, and never the query string), status, duration, agent and bytes in and out:
  no header, body, query or key.
- An error answer's stable code (`{"error": {"code"}}`) is counted by code; only error bodies are read.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Sequence

import orjson
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import AGENT_KEY
from api.errors import error_response
from api.json_logs import ACCESS_LOGGER, AccessLog, request_id
from service.metrics import ServerMetrics

log = logging.getLogger(__name__)

HEADER = b"x-request-id"
VALID_ID = re.compile(rb"[A-Za-z0-9._:=+/-]{1,128}")
UNMATCHED = "unmatched"  # the route label of a request no route matched (a 404): paths stay out of labels
ERROR_BODY_MAX = 64 * 1024


class RequestObserver:
    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute], accept_path: str,
                 metrics: ServerMetrics | None, access_log: bool) -> None:
        """`routes` is the app's live route list (read only for requests no route claimed);
        `accept_path` is where the fast path answers without routing."""
        self.app, self.routes, self.accept_path = app, routes, accept_path
        self.metrics = metrics
        self.access = AccessLog(logging.getLogger(ACCESS_LOGGER)) if access_log else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid, bytes_in = _read_headers(scope["headers"])
        token = request_id.set(rid)
        answer = _Answer(rid.encode(), send)
        try:
            await self.app(scope, receive, answer.send)
        except Exception:
            if answer.status:
                raise  # the answer has begun; nothing better can be sent now
            # Answered here rather than by Starlette's error layer, so even this answer carries its id.
            log.exception("unhandled error")
            await error_response(500, "internal", "the server failed to handle this request; see its log")(
                scope, receive, answer.send)
        finally:
            self._observe(scope, rid, answer, bytes_in, time.perf_counter() - start)
            request_id.reset(token)

    def _observe(self, scope: Scope, rid: str, answer: _Answer, bytes_in: int | None, seconds: float) -> None:
        if self.metrics is None and self.access is None:
            return
        route = self._template(scope)
        status = answer.status or 500  # no answer at all: the client went away or the app failed
        code = answer.error_code()
        if self.metrics is not None:
            self.metrics.request(scope["method"], route, status, seconds)
            if code is not None:
                self.metrics.error(code)
        if self.access is not None and self.access.enabled():
            fields = {"request_id": rid, "method": scope["method"], "route": route, "status": status,
                      "duration_ms": round(seconds * 1000, 3), "agent": scope.get(AGENT_KEY), "bytes_in": bytes_in,
                      "bytes": answer.bytes_out}
            if code is not None:
                fields["code"] = code
            self.access.write(fields)

    def _template(self, scope: Scope) -> str:
        """The matched route's path template (`/v1/memories/{memory_id}`), not the path itself."""
        route = scope.get("route")
        if route is not None:
            return getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED)
        path = scope["path"]
        if path == self.accept_path:
            return path  # answered by the fast path, which never routes
        # Rare: a mount (its apps do not name a route), or a request answered before routing (413).
        probe = {"type": "http", "path": path, "root_path": "", "method": scope["method"], "headers": []}
        for candidate in self.routes:
            if candidate.matches(probe)[0] is not Match.NONE:
                return getattr(candidate, "path_format", None) or getattr(candidate, "path", UNMATCHED)
        return UNMATCHED


class _Answer:
    """Wraps `send`: adds the request id to the answer's headers and notes its status and size."""

    __slots__ = ("rid", "_send", "status", "bytes_out", "_error")

    def __init__(self, rid: bytes, send: Send) -> None:
        self.rid, self._send = rid, send
        self.status = 0
        self.bytes_out = 0
        self._error: list[bytes] | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message = {**message, "headers": [*message.get("headers", ()), (HEADER, self.rid)]}
            if self.status >= 400:
                self._error = []
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            self.bytes_out += len(body)
            if self._error is not None and self.bytes_out <= ERROR_BODY_MAX:
                self._error.append(body)
        await self._send(message)

    def error_code(self) -> str | None:
        """The stable code of an error answer (`unknown` if its body is not our JSON error)."""
        if self._error is None:
            return None
        try:
            code = orjson.loads(b"".join(self._error))["error"]["code"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return "unknown"
        return code if isinstance(code, str) and len(code) <= 64 else "unknown"


def _read_headers(headers: Sequence[tuple[bytes, bytes]]) -> tuple[str, int | None]:
    """The request id to use (the client's when valid, else a new one) and the declared body length."""
    rid: str | None = None
    length: int | None = None
    for name, value in headers:
        if name == HEADER:
            if rid is None and VALID_ID.fullmatch(value):
                rid = value.decode("ascii")
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    return rid or f"{random.getrandbits(128):032x}", length
