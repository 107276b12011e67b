"""/v1/feedback: a signal on a memory (ranking), or a correction of what is believed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, FeedbackIn, error_responses

router = APIRouter(
    prefix="/v1", tags=["feedback"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 403, 404, 413),
)


@router.post("/feedback", responses={202: {"description": "Still queued at the wait timeout; follow `job_id`."}})
async def feedback(body: FeedbackIn, rt: RuntimeDep, caller: CallerDep) -> JSONResponse:
    """useful / not_useful move the memory in ranking; wrong (with a correction) supersedes a world
    fact; outdated closes a fact's validity; on a skill, useful and not_useful count a run."""
    out = await rt.feedback.feedback(caller, body.memory_id, body.signal, body.correction, body.note, body.cube)
    return JSONResponse(out, status_code=200 if out["status"] == "done" else 202)
