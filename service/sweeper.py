"""The background sweeper: deletes expired memories and applies retention rules, every `sweep_interval_s`.

An expired memory has already left every read (pipeline/lifecycle.py `alive`); the sweeper removes
it with an ordinary delete op, so whatever deletion does (indexes, the purge of its content) applies.
It runs on a thread of its own with its own event loop: the intake ops it appends go through the
group committer like any request's.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from pipeline.records import Op
from pipeline.timefmt import now_ms
from service.intake_ops import IntakeOps, OpDraft
from service.retention import SWEEPER_AGENT, RetentionService
from storage.audit_log import AuditLog
from storage.cube.selection import expired
from storage.intake_log import IntakeLog
from storage.lifecycle_store import LifecycleStore
from storage.paths import DataPaths
from storage.registry import Registry

log = logging.getLogger(__name__)

EXPIRED_PER_SWEEP = 5_000  # per cube; the rest waits for the next sweep


class Sweeper:
    def __init__(self, interval_s: float, registry: Registry, paths: DataPaths, intake: IntakeLog, ops: IntakeOps,
                 audit: AuditLog, store: LifecycleStore, retention: RetentionService) -> None:
        self._interval = interval_s
        self._registry, self._paths, self._intake, self._ops = registry, paths, intake, ops
        self._audit, self._store, self._retention = audit, store, retention
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memos-sweeper", daemon=True)
        self.sweeps = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while not self._stop.wait(self._interval):
                try:
                    loop.run_until_complete(self.sweep())
                except Exception:  # one bad sweep must not end the sweeper; the next one retries
                    log.exception("sweep failed")
        finally:
            loop.close()

    async def sweep(self) -> dict[str, int]:
        """One pass over every cube: expired memories deleted, retention rules applied."""
        self._store.flush()
        cubes = {c.id for c in self._registry.all()}
        expired_n = 0
        for cube in sorted(cubes):
            expired_n += await self._expire(cube)
        for cube in self._store.cubes_with_rules():
            if cube not in cubes:
                self._store.forget_cube(cube)  # the cube was deleted: its rules go too
                continue
            await self._retention.apply(cube, lambda memory_id, c=cube: bool(self._intake.pending_ops(c, memory_id)))
        self.sweeps += 1
        return {"expired": expired_n}

    async def _expire(self, cube: str) -> int:
        ids = [i for i in expired(self._paths.cube_db(cube), now_ms(), EXPIRED_PER_SWEEP)
               if not self._intake.pending_ops(cube, i)]
        if not ids:
            return 0
        drafts = [OpDraft(Op.DELETE, cube, i, {"id": i, "cube": cube, "agent": SWEEPER_AGENT}) for i in ids]
        job_id, _ = await self._ops.submit(SWEEPER_AGENT, "expire", drafts)
        self._audit.record(SWEEPER_AGENT, "memory.expire", cube=cube,
                           details={"memories": len(ids), "job_id": job_id, "ids": ids[:100]})
        return len(ids)
