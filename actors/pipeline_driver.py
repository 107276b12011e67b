"""The driver: pulls pending intake entries in micro-batches and submits them to the stage chain.

Each batch is split by shard and goes through every stage (actors/stage_chain.py, the LIVE route);
at most `max_in_flight_batches` batches are in flight (back-pressure: the rest waits, durable, in
the intake log). Ray runs one caller's calls to one actor in submission order, so each shard sees
its mutations in intake order. A batch that fails is retried after everything in flight settles;
an entry that keeps failing on its own is marked failed on its job, never dropped silently.

What it needs from above it is handed over at construction: where a cube's rows go (`route`, the
registry's placement) and who hears of finished batches: `before_final` (the search readers and
the pools held ready) before the entries are marked final in the intake log, `listeners` after. A
client that sees its job done or its write final must find it searchable, so nothing that reads the
intake log may run ahead of the readers' refresh.

Two threads and no polling: the dispatcher sleeps until new entries are committed (wake) or a
slot frees up; the collector sleeps in ray.wait until a batch finishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
import ray
from ray.exceptions import RayActorError, RayTaskError

from actors.stage_chain import StageChain
from actors.stage_timing import StageTiming
from storage.disk_space import is_disk_full
from storage.intake_log import Failure, IntakeLog

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
DISK_FULL_PAUSE_S = 1.0  # between tries while the data directory's disk is full


@dataclass(frozen=True)
class Completion:
    """What one batch made final: for waiters, caches and job progress."""

    shard: str
    done: list[int]
    failed: list[int]
    cubes: list[str]
    stages: tuple[StageTiming, ...] = ()  # each stage's rows and seconds on the batch (for metrics)
    deleted: tuple[tuple[str, str], ...] = ()  # (cube, id) of memories whose rows left a file (for the purge)


class CompletionListener(Protocol):
    def completed(self, completion: Completion) -> None:
        """Called from a driver thread once a batch's entries are final."""


@dataclass
class _Flight:
    ref: Any
    batch: pa.RecordBatch
    shard: str
    error: BaseException | None = None

    @property
    def seqs(self) -> list[int]:
        return self.batch["seq"].to_pylist()


@dataclass
class _Retry:
    attempts: dict[int, int] = field(default_factory=dict)
    solo_until: int = 0  # dispatch one entry per batch up to this seq, to isolate a bad one


class PipelineDriver:
    def __init__(
        self,
        intake: IntakeLog,
        route: Callable[[str], str],
        chain: StageChain,
        *,
        batch_max: int,
        linger_ms: int,
        max_in_flight: int,
        listeners: Sequence[CompletionListener],
        before_final: Sequence[CompletionListener] = (),
    ) -> None:
        self._intake, self._route, self._chain = intake, route, chain
        self._batch_max, self._linger, self._max_in_flight = batch_max, linger_ms / 1000, max_in_flight
        self._before_final, self._listeners = tuple(before_final), tuple(listeners)
        self._cv = threading.Condition()
        self._flights: list[_Flight] = []
        self._cursor = 0
        self._more = True  # the log may hold pending entries past the cursor
        self._paused = False
        self._recovering = False
        self._stopping = False
        self._retry = _Retry()
        self._threads = [
            threading.Thread(target=self._loop, args=(self._dispatch_step,), name="pipeline-dispatch", daemon=True),
            threading.Thread(target=self._loop, args=(self._collect_step,), name="pipeline-collect", daemon=True),
        ]
        self.batches_done = 0

    # --- control -----------------------------------------------------------------------------

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def wake(self) -> None:
        """New entries were committed to the intake log."""
        with self._cv:
            self._more = True
            self._cv.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop dispatching and let what is in flight land; anything left is replayed next start."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        for t in self._threads:
            t.join(timeout)
        self._settle_all(timeout)

    def pause(self, timeout: float = 600.0) -> bool:
        """Stop dispatching and wait until nothing is in flight (for a reindex)."""
        with self._cv:
            self._paused = True
            return self._cv.wait_for(lambda: not self._flights, timeout)

    def resume(self) -> None:
        with self._cv:
            self._paused = False
            self._more = True
            self._cv.notify_all()

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def announce(self, completion: Completion) -> None:
        """Tell every listener about entries made final outside a batch (a deleted cube's pending writes)."""
        self._tell(self._before_final, completion)
        self._tell(self._listeners, completion)

    @staticmethod
    def _tell(listeners: Sequence[CompletionListener], completion: Completion) -> None:
        for listener in listeners:
            listener.completed(completion)

    # --- threads -----------------------------------------------------------------------------

    def _loop(self, step: Callable[[], None]) -> None:
        while not self._stopping:
            try:
                step()
            except Exception:  # the loop must outlive any one bad step; entries stay pending
                log.exception("pipeline driver step failed; retrying in 1 s")
                time.sleep(1.0)

    def _can_dispatch(self) -> bool:
        return (
            self._more
            and not self._paused
            and not self._recovering
            and len(self._flights) < self._max_in_flight
        )

    def _dispatch_step(self) -> None:
        with self._cv:
            if not self._cv.wait_for(lambda: self._stopping or self._can_dispatch(), timeout=1.0):
                return
            if self._stopping:
                return
            self._more = False  # set again by wake(); cleared here so an empty read sleeps
            cursor = self._cursor
            limit = 1 if cursor < self._retry.solo_until else self._batch_max
            idle = not self._flights
        batch = self._intake.pending(cursor, limit)
        if 0 < batch.num_rows < limit and idle and self._linger > 0:
            time.sleep(self._linger)  # an idle pipeline lets a burst gather into one batch
            batch = self._intake.pending(cursor, limit)
        if batch.num_rows == 0:
            return
        with self._cv:
            if self._cursor != cursor or self._recovering:
                self._more = True  # a recovery moved the cursor meanwhile: read again
                return
            self._flights += self._submit(batch)
            self._cursor = int(batch["seq"][-1].as_py())
            self._more = self._more or batch.num_rows == limit
            self._cv.notify_all()

    def _submit(self, batch: pa.RecordBatch) -> list[_Flight]:
        shards = [self._route(cube) for cube in batch["cube"].to_pylist()]
        flights = []
        for shard in dict.fromkeys(shards):
            rows = pa.array([i for i, s in enumerate(shards) if s == shard], pa.int64())
            sub = batch.take(rows)
            flights.append(_Flight(self._chain.submit(sub, shard), sub, shard))
        return flights

    def _collect_step(self) -> None:
        with self._cv:
            if not self._cv.wait_for(lambda: self._stopping or self._flights, timeout=1.0) or self._stopping:
                return
            refs = [f.ref for f in self._flights]
        ready, _ = ray.wait(refs, num_returns=1, timeout=1.0)
        if not ready:
            return
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        ready_set = set(ready)
        with self._cv:
            finished = [f for f in self._flights if f.ref in ready_set]
        failed = [f for f in finished if not self._finish(f)]
        with self._cv:
            self._flights = [f for f in self._flights if f.ref not in ready_set]
            if failed:
                self._recovering = True
            self._cv.notify_all()
        if failed:
            self._recover(failed)

    def _finish(self, flight: _Flight) -> bool:
        try:
            out = ray.get(flight.ref)
        except ray.exceptions.RayError as exc:
            flight.error = exc
            return False
        job_of = dict(zip(flight.seqs, flight.batch["job_id"].to_pylist()))
        failures = [Failure(seq, job_of[seq], code, message) for seq, code, message in out["failed"]]
        stages = tuple(StageTiming(*t) for t in out.get("stages", ()))
        deleted = tuple((cube, memory_id) for cube, memory_id in out.get("deleted", ()))
        completion = Completion(flight.shard, out["done"], [f.seq for f in failures], out["cubes"], stages, deleted)
        self._tell(self._before_final, completion)
        self._intake.complete([(seq, job_of[seq]) for seq in out["done"]], failures)
        for seq in out["done"]:
            self._retry.attempts.pop(seq, None)
        self.batches_done += 1
        self._tell(self._listeners, completion)
        return True

    # --- recovery ----------------------------------------------------------------------------

    def _recover(self, failed: list[_Flight]) -> None:
        """Settle what is in flight, then go back to the oldest failed entry and retry from there."""
        failed = failed + self._settle_all()
        give_up: list[_Flight] = []
        disk_full = False
        for flight in failed:
            app_error = isinstance(flight.error, RayTaskError) and not isinstance(flight.error, RayActorError)
            log.warning("batch of %d on %s failed (%s); retrying", flight.batch.num_rows, flight.shard,
                        type(flight.error).__name__)
            if not app_error:
                continue  # an actor died: Ray restarts it, and the same entries go again
            if is_disk_full(flight.error):
                # No fault of these entries: counting it would mark acknowledged writes failed (lost) once
                # the disk had been full for three tries. They stay pending and go again once space frees.
                disk_full = True
                continue
            for seq in flight.seqs:
                self._retry.attempts[seq] = self._retry.attempts.get(seq, 0) + 1
            if flight.batch.num_rows == 1 and self._retry.attempts[flight.seqs[0]] >= MAX_ATTEMPTS:
                give_up.append(flight)
            else:
                self._retry.solo_until = max(self._retry.solo_until, max(flight.seqs))
        for flight in give_up:
            seq, job_id = flight.seqs[0], flight.batch["job_id"][0].as_py()
            message = str(flight.error).splitlines()[0][:500] if flight.error else "pipeline error"
            self._intake.complete([], [Failure(seq, job_id, "pipeline_error", message)])
            self.announce(Completion(flight.shard, [], [seq], []))
        # Dedupe and crystallize state may include rows whose write never landed: reload from the files.
        for shard in {f.shard for f in failed}:
            self._chain.reset(shard)
        if any(not isinstance(f.error, RayTaskError) for f in failed):
            time.sleep(1.0)  # give Ray a moment to restart the actor
        elif disk_full:
            log.error("the data directory's disk is full; pending writes wait in the intake log")
            time.sleep(DISK_FULL_PAUSE_S)
        with self._cv:
            self._cursor = min(min(f.seqs) for f in failed) - 1
            self._recovering = False
            self._more = True
            self._cv.notify_all()

    def _settle_all(self, timeout: float | None = None) -> list[_Flight]:
        """Wait for every batch in flight (none is added meanwhile); returns the ones that failed."""
        with self._cv:
            flights, self._flights = self._flights, []
        if flights:
            ready, _ = ray.wait([f.ref for f in flights], num_returns=len(flights), timeout=timeout)
            flights = [f for f in flights if f.ref in set(ready)]  # the rest stays pending in the log
        failed = [f for f in flights if not self._finish(f)]
        with self._cv:
            self._cv.notify_all()
        return failed
