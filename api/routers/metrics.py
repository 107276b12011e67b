"""GET /metrics: the Prometheus text format (service/metrics.py says what each figure is and where it comes from).

Left out of the OpenAPI document: it is for a scraper, not for API clients. Who may scrape is the
`metrics_auth` setting: `auto` (the default) needs no key while the server binds loopback and an
admin key beyond it; `admin` needs an admin key whenever auth is on; `none` never asks.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api import deps
from pipeline.access import is_loopback

router = APIRouter(tags=["metrics"])

MetricsAuth = Literal["auto", "admin", "none"]


def scrape_needs_operator(mode: MetricsAuth, host: str) -> bool:
    return mode == "admin" or (mode == "auto" and not is_loopback(host))


async def _allowed(request: Request) -> None:
    """The operator check of admin routes (api/deps.py `operator`), where the setting asks for one."""
    if not request.app.state.metrics_needs_operator:
        return
    rt = await deps.runtime(request)
    await deps.operator(rt, await deps.caller(request, rt))


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(_allowed)])
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
