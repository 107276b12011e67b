"""`POST /v1/cleanup` and `memos cleanup`/`memos tag`: one action on every memory of a cube a filter selects.

A dry run reports what would change (`matched`, and a `sample`) and changes nothing. A real run
selects the same way and appends one op per memory to the intake log as one job, the way every
write goes: deletes are ordinary delete ops (so deletion's purge applies), archive and restore
are `status` ops, tag changes are updates. Up to `cleanup_wait_max` ops are waited for; a larger
run answers at once with its `job_id` (GET /v1/jobs/{id} shows its progress).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from configs import Settings
from pipeline.access import Caller, Role
from pipeline.ids import new_memory_id
from pipeline.lifecycle import Action, CleanupAction, CleanupFilter, changes, tags_after
from pipeline.records import Draft, MemoryRecord, Op, Status, Tier
from pipeline.timefmt import now_ms
from service.access import Access
from service.intake_ops import IntakeOps, OpDraft
from service.views import memory_view
from storage.audit_log import AuditLog
from storage.cube.selection import select
from storage.lifecycle_store import LifecycleStore
from storage.paths import DataPaths
from storage.read_side import ReadSide
from storage.registry import Cube

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Planned:
    """What a run would do: the memories it changes (newest first) in `cube`."""

    cube: Cube
    records: list[MemoryRecord]


def op_drafts(agent: str, cube: str, records: list[MemoryRecord], act: CleanupAction, at: int) -> list[OpDraft]:
    """The intake ops that carry out an action on these memories (move: the deletes, after its copies)."""
    out: list[OpDraft] = []
    for rec in records:
        base = {"id": rec.id, "cube": cube, "agent": agent}
        if act.action in (Action.DELETE, Action.MOVE):
            out.append(OpDraft(Op.DELETE, cube, rec.id, base))
        elif act.action in (Action.ARCHIVE, Action.RESTORE):
            status = Status.ARCHIVED if act.action is Action.ARCHIVE else Status.ACTIVE
            out.append(OpDraft(Op.STATUS, cube, rec.id, {**base, "status": status.value, "at": at}))
        else:
            draft = Draft(id=rec.id, cube=cube, agent=rec.agent, tier=rec.tier, kind=rec.kind, content=rec.content,
                          created_at=rec.created_at, updated_at=at, tags=tags_after(rec, act), metadata=rec.metadata,
                          source_ids=rec.source_ids, episode=rec.episode, tool=rec.tool, base_version=rec.version,
                          reembed=False, expires_at=rec.expires_at)
            out.append(OpDraft(Op.UPDATE, cube, rec.id, draft.as_dict()))
    return out


def copy_drafts(agent: str, source: str, target: str, records: list[MemoryRecord], at: int) -> list[OpDraft]:
    """A move's first half: each memory added to the target cube under a new id, with where it came from."""
    out = []
    for rec in records:
        memory_id = new_memory_id()
        draft = Draft(id=memory_id, cube=target, agent=agent, tier=rec.tier, kind=rec.kind, content=rec.content,
                      created_at=rec.created_at, updated_at=at, tags=list(rec.tags),
                      metadata={**rec.metadata, "moved_from": {"cube": source, "id": rec.id}},
                      source_ids=list(rec.source_ids), tool=rec.tool, expires_at=rec.expires_at)
        out.append(OpDraft(Op.ADD, target, memory_id, draft.as_dict()))
    return out


class CleanupService:
    def __init__(self, settings: Settings, access: Access, paths: DataPaths, read: ReadSide, ops: IntakeOps,
                 audit: AuditLog, store: LifecycleStore) -> None:
        self._settings, self._access, self._paths, self._read = settings, access, paths, read
        self._ops, self._audit, self._store = ops, audit, store
        self._moves: set[asyncio.Task] = set()  # a large move's delete half, still running

    def plan(self, caller: Caller, f: CleanupFilter, act: CleanupAction) -> Planned:
        """The memories the action would change; the caller needs write on the cube (and on a move's target)."""
        f.check()
        act.check()
        cube = self._access.require(caller, f.cube, Role.WRITE)
        if act.action is Action.MOVE:
            target = self._access.require(caller, act.to, Role.WRITE)
            # Moving into its own cube changes nothing; facts and skills are derived in their own cube
            # and are not moved: a filter on those tiers matches nothing to move.
            if target.id == cube.id or f.tier not in (None, Tier.TRACE.value):
                return Planned(cube, [])
            f = replace(f, tier=Tier.TRACE.value)
        return Planned(cube, self.select(cube.id, f, act))

    def select(self, cube_id: str, f: CleanupFilter, act: CleanupAction) -> list[MemoryRecord]:
        now = now_ms()
        retrieved = self._store.retrieved_ids(cube_id) if f.never_retrieved else None
        found = select(self._paths.cube_db(cube_id), f, act.action, now, retrieved)
        if not found:
            return []
        with self._read.cube(cube_id) as store:
            records = store.get_many([s.id for s in found]) if store is not None else {}
        return [records[s.id] for s in found if s.id in records and changes(records[s.id], act)]

    async def run(self, caller: Caller, f: CleanupFilter, act: CleanupAction, dry_run: bool) -> dict[str, Any]:
        planned = self.plan(caller, f, act)
        out: dict[str, Any] = {"matched": len(planned.records),
                               "sample": [memory_view(r) for r in planned.records[:SAMPLE_SIZE]],
                               "dry_run": dry_run, "job_id": None, "status": "done"}
        if dry_run or not planned.records:
            return out
        job_id, status = await self._apply(caller.agent, planned, act)
        self._audit.record(caller.agent, f"cleanup.{act.action.value}", cube=planned.cube.id,
                           details={"matched": len(planned.records), "job_id": job_id, "to": act.to,
                                    "tag": act.tag, "filter": _filter_details(f)})
        return {**out, "job_id": job_id, "status": status}

    async def _apply(self, agent: str, planned: Planned, act: CleanupAction) -> tuple[str, str]:
        at = now_ms()
        cube, records = planned.cube.id, planned.records
        if act.action is Action.MOVE:
            assert act.to is not None
            copies = copy_drafts(agent, cube, act.to, records, at)
            job_id, seqs = await self._ops.submit(agent, "cleanup.move", copies)
            deletes = op_drafts(agent, cube, records, act, at)
            if len(seqs) > self._settings.cleanup_wait_max:
                task = asyncio.get_running_loop().create_task(self._delete_moved(agent, seqs, deletes))
                self._moves.add(task)
                task.add_done_callback(self._moves.discard)
                return job_id, "queued"
            return job_id, await self._delete_moved(agent, seqs, deletes)
        job_id, seqs = await self._ops.submit(agent, f"cleanup.{act.action.value}", op_drafts(agent, cube, records,
                                                                                             act, at))
        if len(seqs) > self._settings.cleanup_wait_max:
            return job_id, "queued"
        return job_id, _overall(await self._ops.wait(seqs))

    async def _delete_moved(self, agent: str, copy_seqs: list[int], deletes: list[OpDraft]) -> str:
        """A memory leaves its cube only once its copy is stored (a failed copy keeps the original)."""
        states: dict[int, str] = {}
        while True:
            states = await self._ops.wait(copy_seqs)
            if "pending" not in states.values():
                break
        kept = [d for d, seq in zip(deletes, copy_seqs) if states.get(seq) == "done"]
        if not kept:
            return "failed"
        _, seqs = await self._ops.submit(agent, "cleanup.move", kept)
        status = _overall(await self._ops.wait(seqs))
        return "failed" if len(kept) < len(deletes) else status


def _overall(states: dict[int, str]) -> str:
    found = set(states.values())
    return "failed" if "failed" in found else ("queued" if "pending" in found else "done")


def _filter_details(f: CleanupFilter) -> dict[str, Any]:
    """The filter as the audit log keeps it: what was asked, never any memory's content (a text
    query may quote it, so only its presence is kept)."""
    kept = {k: v for k, v in vars_of(f).items() if v not in (None, False, ())}
    if "query" in kept:
        kept["query"] = True
    return kept


def vars_of(f: CleanupFilter) -> dict[str, Any]:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}
