"""/v1/jobs/{id}: progress of an accepted write or batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, Job, error_responses
from pipeline.ids import JOB_ID

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 404))
JobIdPath = Annotated[str, Path(json_schema_extra={"pattern": f"^{JOB_ID.pattern}$"})]  # else 404, not refused


@router.get("/{job_id}", response_model=Job)
def get_job(job_id: JobIdPath, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.jobs.get(caller, job_id)
