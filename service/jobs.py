"""Jobs: the progress of an accepted write, batch or reindex, shown to the agent that started it."""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller
from pipeline.errors import NotFound
from pipeline.ids import check_job_id
from pipeline.timefmt import to_iso
from storage.intake_log import IntakeLog


class JobService:
    def __init__(self, intake: IntakeLog) -> None:
        self._intake = intake

    def get(self, caller: Caller, job_id: str) -> dict[str, Any]:
        """The job with its first errors; another agent's job reads as one that does not exist."""
        job = self._intake.job(check_job_id(job_id))
        if job is None or job.agent != caller.agent:
            raise NotFound(f"job {job_id} does not exist")
        return {
            "id": job.id,
            "kind": job.kind,
            "status": job.status,
            "total": job.total,
            "done": job.done,
            "failed": job.failed,
            "errors": self._intake.job_errors(job.id) if job.failed else [],
            "created_at": to_iso(job.created_at),
            "finished_at": to_iso(job.finished_at) if job.finished_at else None,
        }
