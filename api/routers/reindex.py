"""/v1/reindex: rebuild the Lance and tantivy shards from the SQLite files, as a background job."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from api.deps import OperatorDep, RuntimeDep
from api.schemas import ErrorOut, Strict

router = APIRouter(prefix="/v1", tags=["admin"], responses={409: {"model": ErrorOut}})


class ReindexIn(Strict):
    reembed: bool = Field(False, description="Recompute vectors made by another model first.")
    all: bool = Field(False, description="With reembed: recompute every vector, not only stale ones.")


class ReindexAccepted(Strict):
    job_id: str
    status: str


@router.post("/reindex", status_code=202, response_model=ReindexAccepted)
def reindex(rt: RuntimeDep, caller: OperatorDep, body: ReindexIn | None = None) -> JSONResponse:
    """Start a reindex; follow it with GET /v1/jobs/{job_id}."""
    body = body or ReindexIn()
    job_id = rt.reindexer.start(caller.agent, reembed=body.reembed, everything=body.all)
    return JSONResponse({"job_id": job_id, "status": "queued"}, status_code=202)
