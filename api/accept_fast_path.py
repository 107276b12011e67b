"""`POST /v1/memories` answered without FastAPI's per-request machinery, in the common case.

The accept route is what agent fleets call most. Under saturation, FastAPI's routing, its
middleware layers and its dependency solving held the GIL for about two thirds of each such
request (py-spy; docs/architecture.md has the figures). This layer answers a write itself when
nothing about it is unusual: no query string, a JSON body of declared length within the limit
that validates, and a caller known without a password check. Anything else goes on to the
FastAPI app with the body replayed, so the route stays the one definition of the endpoint: its
validation errors, its docs, `?wait=true`, first-time API keys.

It decides nothing of its own: the accept route's path comes from the route itself (api/app.py
asks the app for it), api/deps.py says whether the server serves and who calls,
api/memory_input.py what the write is and which status answers it, api/errors.py reads the body,
and pipeline/input_bounds.py parses it, the same function every route's body goes through
(api/json_route.py): a body the route would refuse is never taken here, only handed on.

It sits inside Starlette's error layer (a failure here is the usual JSON 500) and outside
BodyLimit, which it never needs: it only takes bodies whose declared length is within the limit.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import caller_headers, first_headers, note_agent, repeated_identity, serving
from api.errors import memos_error_response, read_body, replaying, too_large_response
from api.memory_input import accept_status, new_memory
from api.schemas import MemoryIn
from pipeline.errors import MemosError
from pipeline.input_bounds import parse_json_body
from service.runtime import Runtime

# Others FastAPI parses as JSON (application/*+json) go to the route; so does a body with no type,
# which the route refuses (FastAPI's strict content type): the two once disagreed on it (issue 13).
JSON_TYPES = (b"application/json",)


class AcceptFastPath:
    def __init__(self, app: ASGIApp, runtime: Runtime, path: str, max_bytes: int) -> None:
        self.app, self.runtime, self.path, self.max_bytes = app, runtime, path, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self._eligible(scope)
        rt = serving(self.runtime)
        if headers is None or rt is None:  # while starting or stopping, the route says so (503)
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.max_bytes)
        except ClientDisconnect:
            return  # cut off before its declared length: nothing is stored, and nobody is left to answer
        if body is None:  # more than it declared; the server's parser normally stops that first
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
        receive = replaying(body, receive)
        memory = _parse(body)
        if memory is None:
            await self.app(scope, receive, send)  # the route answers with the validation error
            return
        try:
            caller = rt.auth.known_caller(*caller_headers(headers))
            note_agent(scope, caller)
            accepted = None if caller is None else await rt.memories.add(caller, new_memory(memory), False)
        except MemosError as exc:
            await memos_error_response(exc)(scope, receive, send)
            return
        if accepted is None:  # a key seen for the first time: argon2 runs on the route's thread pool
            await self.app(scope, receive, send)
            return
        await _send_json(send, accept_status(accepted), accepted.body())

    def _eligible(self, scope: Scope) -> dict[bytes, bytes] | None:
        """The request's headers when this layer may answer it, else None."""
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST" or scope["query_string"]:
            return None
        if repeated_identity(scope) is not None:  # the route refuses two identities
            return None
        headers = first_headers(scope)
        declared = headers.get(b"content-length", b"")
        content_type = headers.get(b"content-type", b"").partition(b";")[0].strip().lower()
        if not declared.isdigit() or int(declared) > self.max_bytes or content_type not in JSON_TYPES:
            return None
        return headers


def _parse(body: bytes) -> MemoryIn | None:
    """The write, parsed and held to the same bounds as on the route; None lets the route say what is wrong."""
    try:
        return MemoryIn.model_validate(parse_json_body(body))
    except (MemosError, ValidationError, ValueError, TypeError):
        return None


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    data = orjson.dumps(payload)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
    })
    await send({"type": "http.response.body", "body": data})
