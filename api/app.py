"""The FastAPI application: routers under /v1, JSON errors, and the runtime's lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.accept_fast_path import AcceptFastPath
from api.routers import cubes, episodes, feedback, graph, health, jobs, links, memories, reindex, search, skills
from configs import Settings
from service.runtime import Runtime


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(runtime.start)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await asyncio.to_thread(runtime.stop)

    app = FastAPI(
        title="MemOS",
        version="0.1.0",
        description="Persistent memory for AI agents: write what happens, get back what helps.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(errors.BodyLimit, max_bytes=settings.max_body_bytes)
    for router in (memories.router, graph.router, search.router, episodes.router, skills.router, feedback.router,
                   links.router, cubes.router, jobs.router, reindex.router, health.router):
        app.include_router(router)
    # Outermost but for Starlette's own error layer: the hot write path skips everything inside it.
    # Its path is the accept route's own, so the two never disagree on the URL.
    accept_path = app.url_path_for(memories.create_memory.__name__)
    app.add_middleware(AcceptFastPath, runtime=runtime, path=accept_path, max_bytes=settings.max_body_bytes)
    return app
