"""The FastAPI application: routers under /v1, JSON errors, and the runtime's lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from api import errors, openapi_contract
from api.accept_fast_path import AcceptFastPath
from api.request_observer import RequestObserver
from api.mcp_server.http_mount import McpMount
from api.mem0_compat import platform_routes as mem0_platform, server_routes as mem0_server
from api.routers import cubes, episodes, feedback, graph, health, jobs, links, memories, reindex, search, skills
from api.routers import governance, interchange
from api.routers import images, personas
from api.routers import hub as team_routes
from api.routers.metrics import router as metrics_router, scrape_needs_operator
from api.web import docs_pages, site
from api.web.security_headers import SecurityHeaders
from api.web.vendor_assets import STATIC
from configs import Settings
from service.runtime import Runtime


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)
    mcp = McpMount(runtime, settings.host, version="0.1.0")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(runtime.start)
        app.state.runtime = runtime
        try:
            async with mcp.running():  # MCP sessions end before the runtime they call stops
                yield
        finally:
            await asyncio.to_thread(runtime.stop)

    app = FastAPI(
        title="MemOS",
        version="0.1.0",
        description="Persistent memory for AI agents: write what happens, get back what helps.",
        lifespan=lifespan,
        docs_url=None,  # api/web/docs_pages.py serves /docs and /redoc from vendored files (no CDN)
        redoc_url=None,
    )
    errors.install(app)
    openapi_contract.install(app, settings)  # /openapi.json with the server's own limits (issue 13)
    app.add_middleware(errors.BodyLimit, max_bytes=settings.max_body_bytes,
                       streamed={interchange.IMPORT_PATH: settings.max_import_bytes,
                                "/ui/import": settings.max_import_bytes})  # the UI's upload (api/web/pages/transfer.py)
    for router in (memories.router, graph.router, search.router, episodes.router, skills.router, feedback.router,
                   links.router, cubes.router, jobs.router, reindex.router, health.router, interchange.router,
                   governance.router):
        app.include_router(router)
    app.include_router(images.router)  # an image memory's bytes and thumbnail (api/routers/images.py)
    app.include_router(personas.router)  # personas, stored as persona memories (api/routers/personas.py)
    app.include_router(team_routes.hub)  # team sharing (docs/team.md)
    app.include_router(team_routes.team)
    app.include_router(docs_pages.router)
    app.add_route("/mcp", mcp, include_in_schema=False)  # MCP over streamable HTTP (api/mcp_server/)
    app.include_router(mem0_platform.router)  # mem0's contract, not ours: left out of the OpenAPI document
    app.include_router(mem0_server.router)
    app.mount(docs_pages.STATIC_URL, StaticFiles(directory=STATIC), name="ui-static")
    site.install(app, settings)  # the web UI at /ui (api/web/site.py); `/` redirects there
    # Outside all but the observer below and Starlette's error layer: the hot write path skips everything inside it.
    # Its path is the accept route's own, so the two never disagree on the URL.
    accept_path = app.url_path_for(memories.create_memory.__name__)
    app.add_middleware(AcceptFastPath, runtime=runtime, path=accept_path, max_bytes=settings.max_body_bytes)
    # Pure ASGI, outside the fast path so the fast path stays right outside BodyLimit: a request pays one
    # prefix test here.
    app.add_middleware(SecurityHeaders)
    if settings.metrics:
        app.include_router(metrics_router)  # GET /metrics (api/routers/metrics.py)
    app.state.metrics = runtime.metrics
    app.state.metrics_needs_operator = scrape_needs_operator(settings.metrics_auth, settings.host)
    # Outside the fast path too: request ids, metrics and the access line see every answer.
    app.add_middleware(RequestObserver, routes=app.routes, accept_path=accept_path,
                       metrics=runtime.metrics if settings.metrics else None, access_log=settings.access_log)
    return app
