"""/v1/health: liveness, the size of the write backlog and whether writes are refused for it."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from api.json_route import JsonRoute
from api.schemas import Health
from service.backlog import BacklogState

router = APIRouter(prefix="/v1", tags=["health"], route_class=JsonRoute)


@router.get("/health", response_model=Health)
def health(request: Request) -> dict:
    rt = getattr(request.app.state, "runtime", None)
    if rt is None or not rt.ready:
        return {"status": "starting", "pending": 0, "in_flight_batches": 0, "batches_done": 0,
                "uptime_s": 0.0, "hot_vectors_mb": 0.0, "warming": 0}
    return {
        "status": "ok",
        "pending": rt.intake.pending_count(),
        "in_flight_batches": rt.driver.in_flight,
        "batches_done": rt.driver.batches_done,
        "uptime_s": round(time.time() - rt.started_at, 1),
        "hot_vectors_mb": round(rt.read.hot_bytes() / 2**20, 2),
        "warming": rt.read.warming(),
        **_backlog(rt.backlog.state()),
    }


def _backlog(state: BacklogState) -> dict:
    return {"backlog": state.backlog, "backlog_max": state.bound, "refusing_writes": state.refusing}
