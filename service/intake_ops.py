"""The write mechanics every service shares: append ops to the intake log, wait until they land.

A write is durable once the group committer has synced it (service/group_commit.py); it is
searchable once the pipeline has applied it, which the write tracker reports
(service/write_tracker.py). A failed entry comes back as the typed error its failure code names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import Conflict, Invalid, MemosError, NotFound, WriteFailed
from pipeline.ids import new_job_id
from pipeline.parse import encode_draft
from pipeline.records import Op
from service.backlog import BacklogGate
from service.group_commit import GroupCommitter
from service.write_tracker import WriteTracker
from storage.intake_log import IntakeEntry, IntakeLog

FAILURE_ERRORS: dict[str, type[MemosError]] = {"invalid": Invalid, "not_found": NotFound, "conflict": Conflict}


@dataclass(frozen=True)
class OpDraft:
    """One op on one target (a memory, or an episode), as the pipeline will read it."""

    op: Op
    cube: str
    target: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Applied:
    """One op run to the end: `done`, or `queued` if it was still going at the wait timeout."""

    job_id: str
    status: str


class IntakeOps:
    def __init__(self, intake: IntakeLog, committer: GroupCommitter, tracker: WriteTracker, wait_timeout_s: float,
                 gate: BacklogGate | None = None) -> None:
        self._intake, self._committer, self._tracker = intake, committer, tracker
        self._timeout = wait_timeout_s
        self._gate = gate  # refuses new writes (429) while the backlog is at its bound

    async def submit(self, agent: str, kind: str, drafts: Sequence[OpDraft], job_id: str | None = None) -> tuple[str, list[int]]:
        """Durably append the drafts as one job; its id, and each draft's seq in order."""
        if self._gate is not None:
            self._gate.admit(len(drafts))
        job_id = job_id or new_job_id()
        entries = [IntakeEntry(job_id, d.op, d.cube, d.target, encode_draft(d.fields)) for d in drafts]
        seqs = await self._committer.submit([(job_id, agent, kind, len(entries))], entries)
        return job_id, seqs

    async def wait(self, seqs: Sequence[int]) -> dict[int, str]:
        """Each seq's state once final ('done' | 'failed'), or 'pending' if still going at the timeout."""
        return await self._tracker.wait(seqs, self._timeout)

    async def run(self, agent: str, draft: OpDraft) -> Applied:
        """Append one op and wait until it is applied; its failure is raised as a typed error."""
        job_id, seqs = await self.submit(agent, draft.op.value, [draft])
        state = (await self.wait(seqs)).get(seqs[0])
        if state == "failed":
            self.raise_failure(seqs[0])
        return Applied(job_id, "done" if state == "done" else "queued")

    def pending(self, cube: str, target: str) -> list[int]:
        """The seqs of ops on this target the pipeline has not applied yet."""
        return [seq for seq, _ in self._intake.pending_ops(cube, target)]

    async def settle(self, cube: str, target: str) -> None:
        """Changes to a memory wait for the writes before them to land, so they apply in order."""
        seqs = self.pending(cube, target)
        if seqs:
            await self.wait(seqs)

    def raise_failure(self, seq: int) -> None:
        code, message = self._intake.failure_of(seq) or ("write_failed", "the write failed")
        raise FAILURE_ERRORS.get(code, WriteFailed)(message)
