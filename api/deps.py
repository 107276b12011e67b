"""Request-scoped dependencies: the running runtime and the authenticated caller.

`serving`, `first_headers` and `caller_headers` are what the accept fast path (api/accept_fast_path.py)
uses too, so it decides readiness and reads the caller exactly as these dependencies do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import Scope

from pipeline.access import Caller
from pipeline.errors import Forbidden, Unavailable
from service.runtime import Runtime


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency on the thread pool,
# a hop per dependency per request that cost the accept path a large share of its throughput.


def serving(rt: Runtime | None) -> Runtime | None:
    """The runtime while it serves requests; None while it starts or stops."""
    return rt if rt is not None and rt.ready else None


def first_headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by (lowercase) name, the first of repeats winning, as Starlette reads them."""
    return dict(reversed(scope["headers"]))


def caller_headers(headers: Mapping[bytes, bytes]) -> tuple[str | None, str | None]:
    """The `Authorization` and `X-Agent-Id` values, decoded as FastAPI's `Header` decodes them (latin-1)."""
    authorization, agent = headers.get(b"authorization"), headers.get(b"x-agent-id")
    return (authorization.decode("latin-1") if authorization is not None else None,
            agent.decode("latin-1") if agent is not None else None)


async def runtime(request: Request) -> Runtime:
    rt = serving(getattr(request.app.state, "runtime", None))
    if rt is None:
        raise Unavailable("the server is starting or stopping")
    return rt


async def caller(
    request: Request,
    rt: Annotated[Runtime, Depends(runtime)],
    # Declared for the API docs; the values are read by caller_headers, the one reading the fast path shares.
    authorization: Annotated[str | None, Header(description="`Bearer <API key>` when auth is on.")] = None,
    x_agent_id: Annotated[str | None, Header(description="The calling agent, honoured only while auth is off.")] = None,
) -> Caller:
    authorization, agent = caller_headers(first_headers(request.scope))
    known = rt.auth.known_caller(authorization, agent)
    if known is not None:
        return known
    # A key seen for the first time is checked with argon2 (tens of ms): off the event loop.
    return await run_in_threadpool(rt.auth.caller, authorization, agent)


async def operator(rt: Annotated[Runtime, Depends(runtime)], who: Annotated[Caller, Depends(caller)]) -> Caller:
    """Server-wide operations: an admin key when auth is on; anyone on a loopback-only, keyless server."""
    if rt.auth.enabled() and not who.admin:
        raise Forbidden("this needs an admin key")
    return who


RuntimeDep = Annotated[Runtime, Depends(runtime)]
CallerDep = Annotated[Caller, Depends(caller)]
OperatorDep = Annotated[Caller, Depends(operator)]
