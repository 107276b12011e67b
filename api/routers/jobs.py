"""/v1/jobs/{id}: progress of an accepted write or batch."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, RuntimeDep
from api.schemas import ErrorOut, Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses={404: {"model": ErrorOut}})


@router.get("/{job_id}", response_model=Job)
def get_job(job_id: str, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.jobs.get(caller, job_id)
