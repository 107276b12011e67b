"""The purge: a deleted memory's content leaves every file in the data dir within `purge_after_s`.

A delete (by DELETE, expiry, cleanup or a retention rule: they are all the writer's one delete op)
removes the rows at once, and search stops finding them; but the bytes live on in the SQLite WAL
and free pages, in Lance fragments and old versions, in tantivy segments and in the intake log's
finished entries. The write actor reports each memory whose rows left a cube file (`deleted` on the
driver's `Completion`); this worker, one thread in the front door, gathers them per cube and, half of
`purge_after_s` after a cube's first unpurged deletion, scrubs: the shard's indexes rewritten and
the old files removed (`ShardWriter.purge`, `purge_old_versions`), the cube file's WAL truncated,
the memories' finished intake entries dropped and the intake WAL truncated. Then the audit log
records the purge by id, never by content. See docs/security.md for what this does not reach.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ray

from actors.pipeline_driver import Completion, PipelineDriver
from actors.stage_chain import StageChain
from storage.audit_log import AuditLog
from storage.intake_log import IntakeLog
from storage.read_side import ReadSide

log = logging.getLogger(__name__)

# An image blob touched this recently may belong to a write between its fsync and its intake commit.
BLOB_GRACE_S = 5.0
READER_GRACE_S = 0.5  # readers told to move to the new index version before the old one's files go
RETRY_S = 1.0  # a step that found the file busy (a reader's snapshot) goes again this much later
PURGE_ACTOR = "memos"  # the audit log's actor for what the server does by itself


@dataclass
class _Pending:
    """One cube's deletions not yet purged."""

    shard: str
    due: float  # monotonic time the purge of this cube starts
    memories: set[str] = field(default_factory=set)
    dropped: bool = False  # the whole cube was deleted


class PurgeQueue:
    """The cubes with deletions not yet purged; a completion listener, so it exists before the driver."""

    def __init__(self, after_s: float) -> None:
        self._delay = after_s / 2  # the other half of the bound is for the purge itself
        self._pending: dict[str, _Pending] = {}
        self.cv = threading.Condition()
        self.stopping = False

    def completed(self, completion: Completion) -> None:
        if completion.deleted:
            self.deleted(completion.shard, completion.deleted)

    def deleted(self, shard: str, memories: Sequence[tuple[str, str]]) -> None:
        with self.cv:
            for cube, memory_id in memories:
                self._entry(cube, shard).memories.add(memory_id)
            self.cv.notify_all()

    def cube_dropped(self, cube: str, shard: str) -> None:
        """A deleted cube: its file is gone; its index entries and intake entries still hold its content."""
        with self.cv:
            self._entry(cube, shard).dropped = True
            self.cv.notify_all()

    def _entry(self, cube: str, shard: str) -> _Pending:
        entry = self._pending.get(cube)
        if entry is None:
            entry = self._pending[cube] = _Pending(shard, time.monotonic() + self._delay)
        return entry

    @property
    def waiting(self) -> int:
        """Cubes with deletions not yet purged."""
        with self.cv:
            return len(self._pending)

    def until_next(self) -> float:
        """Seconds until the next cube is due (called holding `cv`)."""
        if not self._pending:
            return RETRY_S
        return max(0.0, min(p.due for p in self._pending.values()) - time.monotonic())

    def take(self, everything: bool = False) -> dict[str, _Pending]:
        """The cubes due now (or all of them), removed from the queue (called holding `cv`)."""
        now = time.monotonic()
        due = {cube: p for cube, p in self._pending.items() if everything or p.due <= now}
        for cube in due:
            del self._pending[cube]
        return due

    def requeue(self, cubes: dict[str, _Pending]) -> None:
        with self.cv:
            for cube, old in cubes.items():
                entry = self._entry(cube, old.shard)
                entry.memories |= old.memories
                entry.dropped = entry.dropped or old.dropped
                entry.due = min(entry.due, time.monotonic() + RETRY_S)
            self.cv.notify_all()


class PurgeWorker:
    """The thread that purges the queue's cubes as they fall due."""

    def __init__(
        self,
        queue: PurgeQueue,
        intake: IntakeLog,
        driver: PipelineDriver,
        chain: StageChain,
        write_actors: dict[str, Any],
        read: ReadSide,
        audit: AuditLog,
        shard_cubes: Callable[[], dict[str, list[str]]],
        remove_blobs: Callable[[str], int],
    ) -> None:
        self._queue, self._intake, self._driver, self._chain, self._write = queue, intake, driver, chain, write_actors
        self._read, self._audit, self._shard_cubes, self._remove_blobs = read, audit, shard_cubes, remove_blobs
        self._thread = threading.Thread(target=self._run, name="purge", daemon=True)
        self._round = threading.Lock()  # the thread and a flush never purge at the same time
        self.purges = 0  # completed purge rounds

    def start(self, shard_of: Callable[[str], str]) -> None:
        """Start the thread; deletions a crash left unpurged are found again in the intake log, where
        every finished delete entry stays until its purge is done."""
        for cube, memory_id in self._intake.finished_deletes():
            self._queue.deleted(shard_of(cube), [(cube, memory_id)])
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread after its round in progress and purge what is still waiting (a clean stop
        leaves nothing behind; after a crash, `start` finds it again)."""
        with self._queue.cv:
            self._queue.stopping = True
            self._queue.cv.notify_all()
        self._thread.join(timeout)
        self.flush()

    def flush(self) -> None:
        """Purge everything waiting now, in the calling thread."""
        with self._queue.cv:
            due = self._queue.take(everything=True)
        if due:
            with self._round:
                self._purge(due)

    def _run(self) -> None:
        q = self._queue
        while True:
            with q.cv:
                if not q.stopping:
                    q.cv.wait(timeout=q.until_next())
                if q.stopping:
                    return
                due = q.take()
            if not due:
                continue
            try:
                with self._round:
                    self._purge(due)
            except Exception:  # the thread must outlive one bad round; the cubes go again
                log.exception("purge of %s failed; retrying", ", ".join(sorted(due)))
                q.requeue(due)
                time.sleep(RETRY_S)

    # --- one round ---------------------------------------------------------------------------

    def _purge(self, due: dict[str, _Pending]) -> None:
        started = time.perf_counter()
        shards = sorted({p.shard for p in due.values()})
        plan = self._shard_cubes()
        busy: dict[str, _Pending] = {}
        # Dedupe and crystallize may remember derived rows the delete took with it: they reload from
        # the files, which is safe only with nothing in flight (as for a failed batch).
        self._driver.pause()
        try:
            for shard in shards:
                live = [c for c, p in due.items() if p.shard == shard and not p.dropped]
                answer = ray.get(self._write[shard].purge.remote(plan.get(shard, []), live))
                if answer["scrubbed"] < len([c for c in live if c in plan.get(shard, [])]):
                    busy |= {c: due[c] for c in live}  # a reader held a snapshot: the WAL goes next time
                self._chain.reset(shard)
        finally:
            self._driver.resume()
        for shard in shards:
            self._read.mark_dirty(shard)
        time.sleep(READER_GRACE_S)
        for shard in shards:
            ray.get(self._write[shard].purge_old_versions.remote())
        for cube, pending in due.items():
            if pending.dropped:
                self._intake.forget_cube(cube)
            else:
                self._intake.forget(cube, sorted(pending.memories))
        if not self._intake.checkpoint():
            busy |= due
        for cube, pending in due.items():
            if not pending.dropped:  # a deleted cube's blob folder went with it (service/runtime.py)
                self._remove_blobs(cube)  # the images no memory of the cube names any more
        for cube, pending in due.items():
            if cube not in busy:
                self._audit.record(PURGE_ACTOR, "memory.purge", cube=cube,
                                   details={"memories": sorted(pending.memories), "cube_deleted": pending.dropped})
        if busy:
            self._queue.requeue(busy)
        self.purges += 1
        log.info("purged %d cube(s) in %.2f s", len(due), time.perf_counter() - started)
