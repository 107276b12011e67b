"""`POST /v1/memories` answered without FastAPI's per-request machinery, in the common case.

The accept route is what agent fleets call most. Under saturation, FastAPI's routing, its
middleware layers and its dependency solving held the GIL for about two thirds of each such
request (py-spy; docs/architecture.md has the figures). This layer answers a write itself when
nothing about it is unusual: no query string, a JSON body of declared length within the limit
that validates, and a caller known without a password check. Anything else goes on to the
FastAPI app with the body replayed, so the route stays the one definition of the endpoint: its
validation errors, its docs, `?wait=true`, first-time API keys.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import memos_error_response, replaying
from api.routers.memories import accept_status, new_memory
from api.schemas import MemoryIn
from pipeline.access import Caller
from pipeline.errors import MemosError
from service.runtime import Runtime

PATH = "/v1/memories"
JSON_TYPES = (b"application/json", b"")


class AcceptFastPath:
    def __init__(self, app: ASGIApp, runtime: Runtime, max_bytes: int) -> None:
        self.app, self.runtime, self.max_bytes = app, runtime, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self._eligible(scope)
        if headers is None:
            await self.app(scope, receive, send)
            return
        body, receive = await _read_body(receive)
        memory = _parse(body)
        if memory is None:
            await self.app(scope, receive, send)  # the route answers with the validation error
            return
        try:
            caller = self._known_caller(headers)
            accepted = None if caller is None else await self.runtime.memories.add(caller, new_memory(memory), False)
        except MemosError as exc:
            await memos_error_response(exc)(scope, receive, send)
            return
        if accepted is None:  # a key seen for the first time: argon2 runs on the route's thread pool
            await self.app(scope, receive, send)
            return
        await _send_json(send, accept_status(accepted), accepted.body())

    def _eligible(self, scope: Scope) -> dict[bytes, bytes] | None:
        """The request's headers when this layer may answer it, else None."""
        if (scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST" or scope["query_string"]
                or not self.runtime.ready):
            return None
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        content_type = headers.get(b"content-type", b"").partition(b";")[0].strip().lower()
        if not declared.isdigit() or int(declared) > self.max_bytes or content_type not in JSON_TYPES:
            return None
        return headers

    def _known_caller(self, headers: dict[bytes, bytes]) -> Caller | None:
        authorization = headers.get(b"authorization")
        agent = headers.get(b"x-agent-id")
        return self.runtime.auth.known_caller(
            authorization.decode("latin-1") if authorization is not None else None,
            agent.decode("latin-1") if agent is not None else None,
        )


def _parse(body: bytes) -> MemoryIn | None:
    try:
        return MemoryIn.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError, ValueError, TypeError):
        return None


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a receive that hands it on again to whoever reads next."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replaying(body, receive)


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    data = orjson.dumps(payload)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
    })
    await send({"type": "http.response.body", "body": data})
