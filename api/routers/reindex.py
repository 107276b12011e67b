"""/v1/reindex: rebuild the Lance and tantivy shards from the SQLite files, as a background job."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import OperatorDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, ReindexAccepted, ReindexIn, error_responses

router = APIRouter(prefix="/v1", tags=["admin"], route_class=JsonRoute,
                   responses=error_responses(*CALLER_ERRORS, 403, 409, 413))


@router.post("/reindex", status_code=202, response_model=ReindexAccepted)
def reindex(rt: RuntimeDep, caller: OperatorDep, body: ReindexIn | None = None) -> JSONResponse:
    """Start a reindex; follow it with GET /v1/jobs/{job_id}."""
    body = body or ReindexIn()
    job_id = rt.reindexer.start(caller.agent, reembed=body.reembed, everything=body.all)
    return JSONResponse({"job_id": job_id, "status": "queued"}, status_code=202)
