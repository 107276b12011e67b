"""Who calls a /mem0 route: the same key and the same caller dependency as /v1, in mem0's header forms.

mem0's platform client sends `Authorization: Token <key>`, its self-hosted server also takes
`X-API-Key: <key>`; both are read as `Authorization: Bearer <key>`, and the request then goes through
api/deps.py `caller` unchanged. While auth is off, the caller is named by X-Agent-Id (or is `default`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import RuntimeDep, caller, note_agent
from pipeline.access import Caller

Headers = list[tuple[bytes, bytes]]


def as_bearer(headers: Headers) -> Headers:
    """The headers with `Authorization: Token <key>`, or a lone `X-API-Key`, as `Authorization: Bearer <key>`."""
    out: Headers = []
    for name, value in headers:
        scheme, _, key = value.partition(b" ")
        if name == b"authorization" and scheme.lower() == b"token" and key.strip():
            value = b"Bearer " + key.strip()
        out.append((name, value))
    api_key = next((v for n, v in headers if n == b"x-api-key"), None)
    if api_key and not any(n == b"authorization" for n, _ in headers):
        out.append((b"authorization", b"Bearer " + api_key.strip()))
    return out


async def mem0_caller(request: Request, rt: RuntimeDep) -> Caller:
    translated = Request({**request.scope, "headers": as_bearer(request.scope["headers"])})
    who = await caller(translated, rt)
    note_agent(request.scope, who)  # the access log reads the original request's scope
    return who


Mem0CallerDep = Annotated[Caller, Depends(mem0_caller)]
