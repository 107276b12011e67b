"""Request-scoped dependencies: the running runtime and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from pipeline.access import Caller
from pipeline.errors import Forbidden, Unavailable
from service.runtime import Runtime


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency on the thread pool,
# a hop per dependency per request that cost the accept path a large share of its throughput.


async def runtime(request: Request) -> Runtime:
    rt: Runtime | None = getattr(request.app.state, "runtime", None)
    if rt is None or not rt.ready:
        raise Unavailable("the server is starting or stopping")
    return rt


async def caller(
    rt: Annotated[Runtime, Depends(runtime)],
    authorization: Annotated[str | None, Header(description="`Bearer <API key>` when auth is on.")] = None,
    x_agent_id: Annotated[str | None, Header(description="The calling agent, honoured only while auth is off.")] = None,
) -> Caller:
    known = rt.auth.known_caller(authorization, x_agent_id)
    if known is not None:
        return known
    # A key seen for the first time is checked with argon2 (tens of ms): off the event loop.
    return await run_in_threadpool(rt.auth.caller, authorization, x_agent_id)


async def operator(rt: Annotated[Runtime, Depends(runtime)], who: Annotated[Caller, Depends(caller)]) -> Caller:
    """Server-wide operations: an admin key when auth is on; anyone on a loopback-only, keyless server."""
    if rt.auth.enabled() and not who.admin:
        raise Forbidden("this needs an admin key")
    return who


RuntimeDep = Annotated[Runtime, Depends(runtime)]
CallerDep = Annotated[Caller, Depends(caller)]
OperatorDep = Annotated[Caller, Depends(operator)]
