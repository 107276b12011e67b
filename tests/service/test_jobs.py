"""service/jobs.py: a job's progress, shown only to the agent that started it."""

from __future__ import annotations

import pytest

from pipeline.access import Caller
from pipeline.errors import NotFound
from service.memories import NewMemory
from service.runtime import Runtime
from tests.service.conftest import run

ALICE, BOB = Caller("jobs-alice"), Caller("jobs-bob")


def test_a_finished_write_shows_as_a_done_job(runtime: Runtime):
    accepted = run(runtime.memories.add(ALICE, NewMemory("the job of this write is done", id="jobs-1"), wait=True))
    job = runtime.jobs.get(ALICE, accepted.job_id)
    assert {k: v for k, v in job.items() if k not in ("created_at", "finished_at")} == {
        "id": accepted.job_id, "kind": "add", "status": "done", "total": 1, "done": 1, "failed": 0, "errors": [],
    }
    assert job["created_at"] <= job["finished_at"]


def test_another_agents_job_reads_as_one_that_does_not_exist(runtime: Runtime):
    accepted = run(runtime.memories.add(ALICE, NewMemory("alice's job is hers alone"), wait=True))
    with pytest.raises(NotFound, match=f"job {accepted.job_id} does not exist"):
        runtime.jobs.get(BOB, accepted.job_id)


def test_a_malformed_job_id_reads_as_one_that_does_not_exist(runtime: Runtime):
    with pytest.raises(NotFound, match="does not exist"):
        runtime.jobs.get(ALICE, "../registry.db")
