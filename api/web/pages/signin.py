"""Sign-in with an API key, sign-out, and (while auth is off) choosing whose view to see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import RuntimeDep
from api.web.page import PageRoute, UiDep, render, safe_next, see_other, session_of, sessions
from pipeline.errors import InvalidAgent, Unauthorized
from pipeline.ids import check_agent_id

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KeyField = Annotated[str, Form(max_length=200)]
NextField = Annotated[str, Form(max_length=2000)]


@router.get("/ui/signin")
def signin_page(request: Request, rt: RuntimeDep, next: str = "/ui") -> Response:
    if not rt.auth.enabled():
        return see_other("/ui")
    return render(request, "signin.html", title="Sign in", next=safe_next(next), problem=None)


@router.post("/ui/signin")
async def signin(request: Request, rt: RuntimeDep, key: KeyField = "", next: NextField = "/ui") -> Response:
    if not rt.auth.enabled():
        return see_other("/ui")
    authorization = f"Bearer {key.strip()}"
    try:
        caller = await run_in_threadpool(rt.auth.caller, authorization, None)  # argon2: off the event loop
    except Unauthorized:
        # Shown on the page (200): the page itself is fine, the key is not. The message never says
        # whether a key id exists.
        return render(request, "signin.html", title="Sign in", next=safe_next(next),
                      problem="That API key is not valid (or has been revoked).")
    book = sessions(request)
    book.drop(session_of(request).id)
    request.state.ui_session = book.new(authorization=authorization, agent=caller.agent)
    return see_other(safe_next(next))


@router.post("/ui/signout")
def signout(request: Request, rt: RuntimeDep) -> Response:
    book = sessions(request)
    book.drop(session_of(request).id)
    request.state.ui_session = fresh = book.new()
    fresh.flashes.append("Signed out.")
    return see_other("/ui/signin" if rt.auth.enabled() else "/ui")


@router.post("/ui/agent")
def choose_agent(ui: UiDep, agent: Annotated[str, Form(max_length=200)] = "", back: NextField = "/ui") -> Response:
    """While auth is off, whose view the UI shows (any agent id: a keyless loopback server trusts it)."""
    if ui.auth_on:
        return see_other("/ui")
    try:
        ui.session.agent = check_agent_id(agent.strip())
        ui.flash(f"Now viewing as agent {ui.session.agent}.")
    except InvalidAgent as exc:
        ui.flash(exc.message)
    return see_other(safe_next(back))
