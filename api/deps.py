"""Request-scoped dependencies: the running runtime and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from pipeline.errors import Unavailable
from pipeline.ids import check_agent_id
from service.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime | None = getattr(request.app.state, "runtime", None)
    if rt is None or not rt.ready:
        raise Unavailable("the server is starting or stopping")
    return rt


def agent(x_agent_id: Annotated[str | None, Header(description="The calling agent (until keys are set up).")] = None) -> str:
    return check_agent_id("default" if x_agent_id is None else x_agent_id)


RuntimeDep = Annotated[Runtime, Depends(runtime)]
AgentDep = Annotated[str, Depends(agent)]
