"""Request-scoped dependencies: the running runtime and the authenticated caller.

`serving`, `first_headers`, `caller_headers` and `repeated_identity` are what the accept fast path
(api/accept_fast_path.py) uses too, so it decides readiness and reads the caller exactly as these
dependencies do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import Scope

from pipeline.access import Caller
from pipeline.errors import Forbidden, MalformedRequest, Unavailable
from pipeline.ids import AGENT_ID
from service.runtime import Runtime


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency on the thread pool,
# a hop per dependency per request that cost the accept path a large share of its throughput.


def serving(rt: Runtime | None) -> Runtime | None:
    """The runtime while it serves requests; None while it starts or stops."""
    return rt if rt is not None and rt.ready else None


def first_headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by (lowercase) name, the first of repeats winning, as Starlette reads them."""
    return dict(reversed(scope["headers"]))


AGENT_KEY = "memos.agent"  # the caller's agent id in the request's scope, for the access log


def note_agent(scope: Scope, who: Caller | None) -> None:
    """Tell the outer layer (api/request_observer.py) who called; it logs the agent, never the key."""
    if who is not None:
        scope[AGENT_KEY] = who.agent


IDENTITY_HEADERS = (b"authorization", b"x-agent-id")


def repeated_identity(scope: Scope) -> str | None:
    """A header naming the caller that the request sends more than once (two identities are refused)."""
    names = [name for name, _ in scope["headers"] if name in IDENTITY_HEADERS]
    if len(names) > 1:
        for name in IDENTITY_HEADERS:
            if names.count(name) > 1:
                return name.decode()
    return None


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
    x_agent_id: Annotated[str | None, Header(
        description="The calling agent, honoured only while auth is off (400 `invalid_agent` unless it matches).",
        json_schema_extra={"pattern": f"^{AGENT_ID.pattern}$"},  # stated, not enforced here: auth on ignores it
    )] = None,
) -> Caller:
    repeated = repeated_identity(request.scope)
    if repeated is not None:  # once, the fast path and the route each believed a different one
        raise MalformedRequest(f"the request sends the {repeated} header more than once; send one caller")
    authorization, agent = caller_headers(first_headers(request.scope))
    known = rt.auth.known_caller(authorization, agent)
    if known is None:
        # A key seen for the first time is checked with argon2 (tens of ms): off the event loop.
        known = await run_in_threadpool(rt.auth.caller, authorization, agent)
    note_agent(request.scope, known)
    return known


async def operator(rt: Annotated[Runtime, Depends(runtime)], who: Annotated[Caller, Depends(caller)]) -> Caller:
    """Server-wide operations: an admin key when auth is on; anyone on a loopback-only, keyless server."""
    if rt.auth.enabled() and not who.admin:
        raise Forbidden("this needs an admin key")
    return who


RuntimeDep = Annotated[Runtime, Depends(runtime)]
CallerDep = Annotated[Caller, Depends(caller)]
OperatorDep = Annotated[Caller, Depends(operator)]
