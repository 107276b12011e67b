"""Routes whose JSON bodies are parsed by the one boundary parser (pipeline/input_bounds.py).

FastAPI parses a JSON body with `await request.json()`; `JsonRoute` hands its handler a request
whose `json()` is `parse_json_body`, the function the accept fast path calls too, so a body is
held to the same bounds (UTF-8, depth, 64-bit numbers, no lone surrogate) on every route and on
both ways into `POST /v1/memories`. FastAPI wraps whatever `json()` raises in a 400 "There was an
error parsing the body"; api/errors.py answers that with the cause's own code and message.

Every router of ours passes `route_class=JsonRoute`; tests/api/test_hostile_input.py checks that
every route in api/routers/ that takes a body does. A route that reads its body itself (an upload
spooled to disk) must hold it to the same bounds itself.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from pipeline.input_bounds import parse_json_body


class BoundedRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json


class JsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(BoundedRequest(request.scope, request.receive, request._send))

        return bounded
