"""How every UI page runs: its session and CSRF check, the signed-in caller, its template, errors as pages.

Each page router uses `PageRoute`, which around the handler
- finds the request's session (or starts one) and sets its cookie when new: HttpOnly,
  SameSite=Strict, Path=/ui, with the session's lifetime as Max-Age;
- refuses any state-changing request whose CSRF token (form field `csrf_token` or header
  `X-CSRF-Token`, which htmx sends from the page's `hx-headers`) is not the session's, or whose
  Origin is another site's;
- turns a domain error (pipeline/errors.py), a refused query parameter or a missing sign-in into a
  page with the same status (sign-in: a redirect), never a 500;
- marks every answer `Cache-Control: no-store`: pages show private memory.

`Ui` (the `UiDep` dependency) is what a handler works with: the runtime, the session and the caller
as `service/auth.py` `Authenticator` resolves it from the session's key, exactly as for an API request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from api.deps import RuntimeDep
from api.web.sessions import COOKIE, COOKIE_PATH, Session, SessionBook
from api.web.templating import environment
from pipeline.access import Caller
from pipeline.errors import CsrfRefused, MemosError, Unauthorized
from service.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
NAV = (("Overview", "/ui"), ("Memories", "/ui/memories"), ("Episodes", "/ui/episodes"), ("World", "/ui/world"),
       ("Skills", "/ui/skills"), ("Cubes", "/ui/cubes"), ("Graph", "/ui/graph"), ("Import", "/ui/import"),
       ("Team", "/ui/team"), ("Settings", "/ui/settings"))


class SignInNeeded(Exception):
    """No usable sign-in for this page: the browser is sent to the sign-in page."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "sign in")
        self.reason = reason


def sessions(request: Request) -> SessionBook:
    return request.app.state.ui_sessions


def session_of(request: Request) -> Session:
    return request.state.ui_session


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path under /ui of this server, nothing else."""
    if not target:
        return "/ui"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == "/ui" or parts.path.startswith("/ui/")):
        return "/ui"
    return target


def render(request: Request, template: str, *, http_status: int = 200, caller: Caller | None = None,
           auth_on: bool = True, active: str | None = None, **context: Any) -> HTMLResponse:
    session = session_of(request)
    whole_page = not template.startswith("partials/")  # a fragment htmx swaps in shows no messages
    html = environment().get_template(template).render(
        request=request, csrf=session.csrf, caller=caller, auth_on=auth_on, active=active, nav=NAV,
        flashes=session.take_flashes() if whole_page else [], **{"known_agents": [], **context},
    )
    return HTMLResponse(html, status_code=http_status)


def error_page(request: Request, status: int, code: str, message: str) -> HTMLResponse:
    """The error as a page; with the navigation when the caller was known before it happened."""
    title = {403: "Not allowed", 404: "Not found", 409: "Conflict", 413: "Too large",
             503: "Not ready"}.get(status, "Cannot do that")
    ui: Ui | None = getattr(request.state, "ui", None)
    if ui is not None:
        return ui.page("error.html", None, http_status=status, title=title, code=code, message=message)
    return render(request, "error.html", http_status=status, title=title, code=code, message=message)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@dataclass
class Ui:
    request: Request
    rt: Runtime
    session: Session
    caller: Caller
    auth_on: bool

    def page(self, template: str, active: str | None, http_status: int = 200, **context: Any) -> HTMLResponse:
        known = self.rt.identities.known_agents() if not self.auth_on else []
        return render(self.request, template, http_status=http_status, caller=self.caller, auth_on=self.auth_on,
                      active=active, **{"known_agents": known, **context})

    def flash(self, message: str) -> None:
        self.session.flashes.append(message)

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"


async def current_caller(rt: Runtime, session: Session) -> Caller:
    """The session's caller, resolved exactly as an API request's (a revoked key signs the session out)."""
    if rt.auth.enabled() and session.authorization is None:
        raise SignInNeeded()
    try:
        known = rt.auth.known_caller(session.authorization, session.agent)
        if known is None:  # verified at sign-in, but not by this Authenticator's memory (argon2 again)
            known = await run_in_threadpool(rt.auth.caller, session.authorization, session.agent)
    except Unauthorized as exc:
        session.authorization = None
        raise SignInNeeded(exc.message) from exc
    return known


async def ui_context(request: Request, rt: RuntimeDep) -> Ui:
    session = session_of(request)
    caller = await current_caller(rt, session)
    request.state.ui = ui = Ui(request, rt, session, caller, rt.auth.enabled())  # error pages reuse it
    return ui


UiDep = Annotated[Ui, Depends(ui_context)]


async def _check_csrf(request: Request, session: Session) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise CsrfRefused("this form was sent from another site")
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        token = (await request.form()).get(CSRF_FIELD)  # parsed once: the handler's Form() reads the cache
    if not session.csrf_matches(token if isinstance(token, str) else None):
        raise CsrfRefused("this form has expired or did not come from this page; reload the page and try again")


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            book = sessions(request)
            request.state.ui_session = book.get(request.cookies.get(COOKIE)) or book.new()
            try:
                if request.method not in SAFE_METHODS:
                    await _check_csrf(request, session_of(request))
                response = await handler(request)
            except SignInNeeded as exc:
                if exc.reason:
                    session_of(request).flashes.append(exc.reason)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = see_other("/ui/signin" + (f"?next={quote(target)}" if request.method == "GET" else ""))
            except MemosError as exc:
                response = error_page(request, exc.status, exc.code, exc.message)
            except RequestValidationError as exc:
                response = error_page(request, 422, "invalid", _describe(exc.errors()))
            except HTTPException as exc:
                response = error_page(request, exc.status_code, "error", str(exc.detail))
            session = session_of(request)  # signing in or out replaces it
            if session.fresh:
                response.set_cookie(COOKIE, session.id, max_age=int(book.ttl_s), path=COOKIE_PATH, httponly=True,
                                    samesite="strict", secure=request.url.scheme == "https")
                session.fresh = False
            response.headers["Cache-Control"] = "no-store"
            return response

        return run


def _describe(errors: Any) -> str:
    parts = []
    for err in list(errors)[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path")) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)
