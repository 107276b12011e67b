"""/v1/feedback: a signal on a memory (ranking), or a correction of what is believed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CallerDep, RuntimeDep
from api.schemas import ErrorOut, FeedbackIn

router = APIRouter(
    prefix="/v1", tags=["feedback"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("/feedback")
async def feedback(body: FeedbackIn, rt: RuntimeDep, caller: CallerDep) -> JSONResponse:
    """useful / not_useful move the memory in ranking; wrong (with a correction) supersedes a world
    fact; outdated closes a fact's validity; on a skill, useful and not_useful count a run."""
    out = await rt.feedback.feedback(caller, body.memory_id, body.signal, body.correction, body.note, body.cube)
    return JSONResponse(out, status_code=200 if out["status"] == "done" else 202)
