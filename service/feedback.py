"""Feedback on a memory: a ranking signal, or a correction that changes what is believed."""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller, Role
from pipeline.errors import Invalid
from pipeline.records import Op, Tier
from pipeline.timefmt import now_ms
from service.intake_ops import IntakeOps, OpDraft
from service.locate import CubeLocator
from storage.read_side import ReadSide
from service.views import memory_view

SIGNALS = ("useful", "not_useful", "wrong", "outdated")
# Signals that change what is believed need write; ranking signals only need read.
NEEDS_WRITE = frozenset({"wrong", "outdated"})


class FeedbackService:
    def __init__(self, locate: CubeLocator, ops: IntakeOps, read: ReadSide) -> None:
        self._locate, self._ops, self._read = locate, ops, read

    async def feedback(
        self, caller: Caller, memory_id: str, signal: str, correction: str | None, note: str | None,
        cube_id: str | None,
    ) -> dict[str, Any]:
        """Applies the signal; `job_id` lets a client follow one still queued at the wait timeout."""
        cube = self._locate.target(caller, memory_id, cube_id, Role.WRITE if signal in NEEDS_WRITE else Role.READ)
        rec = self._locate.stored(cube.id, memory_id)
        if correction is not None and signal != "wrong":
            raise Invalid("a correction goes with the signal 'wrong'")
        draft = {"id": memory_id, "cube": cube.id, "agent": caller.agent, "signal": signal, "note": note,
                 "correction": correction, "at": now_ms(), "target_kind": rec.kind,
                 "target_fact": rec.metadata if rec.tier == Tier.WORLD else None}
        applied = await self._ops.run(caller.agent, OpDraft(Op.FEEDBACK, cube.id, memory_id, draft))
        after = self._locate.stored(cube.id, memory_id)
        with self._read.cube(cube.id) as store:
            replaced_by = [l["src"] for l in store.links_of(memory_id) if l["type"] == "supersedes" and l["dst"] == memory_id]
        return {"memory_id": memory_id, "cube": cube.id, "signal": signal, "status": applied.status,
                "job_id": applied.job_id, "memory": memory_view(after), "superseded_by": replaced_by}
