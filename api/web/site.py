"""The web UI on the app: every page router under /ui (and `/` → /ui), and the sessions they share.

The static files (our CSS and JS, and the vendored libraries) are mounted at /ui/static by api/app.py;
the pages' security headers come from api/web/security_headers.py.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.web.pages import cubes, episodes, graph, memories, overview, settings_page, signin, skills, transfer, world
from api.web.pages import governance, images, team
from api.web.sessions import SessionBook
from configs import Settings

ROUTERS = (overview.router, signin.router, memories.router, episodes.router, world.router, skills.router,
           cubes.router, graph.router, transfer.router, settings_page.router, governance.router,
           images.router, team.router)


def install(app: FastAPI, settings: Settings) -> None:
    app.state.ui_sessions = SessionBook(ttl_s=settings.ui_session_hours * 3600)
    for router in ROUTERS:
        app.include_router(router)
