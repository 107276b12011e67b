"""Back-pressure that reaches clients: past a bound on the intake backlog, new writes get 429.

The intake log holds every write accepted and not yet stored. Without a bound a front door that
accepts faster than the pipeline stores grows it without end (a load run once left 413,222 writes
queued, minutes behind); with one, the client hears `429 backlog_full` with a `Retry-After` and
nothing is written, so what was acknowledged stays a backlog the pipeline can catch up on.

Counting the pending entries is a scan of the log's pending index, so the gate counts at most once
per `refresh_s` and adds what it admitted since: between two counts it overestimates by what the
pipeline stored meanwhile (it refuses a little early, never late), and a batch admitted under the
bound may take the backlog past it by at most its own size.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.errors import BacklogFull

MAX_RETRY_AFTER_S = 30


@dataclass(frozen=True)
class BacklogState:
    backlog: int  # writes accepted and not yet stored, as the gate last counted them
    bound: int  # intake_backlog_max; 0: no bound
    refusing: bool  # whether a write arriving now is refused


def retry_after_s(excess: int, drained_per_s: float | None) -> int:
    """Whole seconds until the pipeline, at its recent rate, has stored `excess` entries (1 to 30)."""
    if not drained_per_s or drained_per_s <= 0:
        return 1
    return max(1, min(MAX_RETRY_AFTER_S, math.ceil(excess / drained_per_s)))


class BacklogGate:
    def __init__(self, count: Callable[[], int], bound: int, refresh_s: float = 0.05,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._count, self._bound, self._refresh_s, self._clock = count, bound, refresh_s, clock
        self._lock = threading.Lock()
        self._counted = 0
        self._counted_at: float | None = None
        self._admitted = 0  # entries admitted since the last count
        self._rate: float | None = None  # entries stored per second, smoothed over the counts
        self.refused = 0  # writes refused so far

    def admit(self, entries: int) -> None:
        """Let `entries` new intake entries in, or raise BacklogFull when the backlog is at its bound."""
        if self._bound <= 0:
            return
        with self._lock:
            backlog = self._current()
            if backlog >= self._bound:
                self.refused += 1
                wait = retry_after_s(backlog - self._bound + 1, self._rate)
                raise BacklogFull(f"the intake backlog holds {backlog} writes (intake_backlog_max {self._bound}); "
                                  f"nothing was written, try again in {wait} s", retry_after_s=wait)
            self._admitted += entries

    def state(self) -> BacklogState:
        with self._lock:
            backlog = self._current()
        return BacklogState(backlog, self._bound, self._bound > 0 and backlog >= self._bound)

    def _current(self) -> int:
        now = self._clock()
        if self._counted_at is None or now - self._counted_at >= self._refresh_s:
            counted = self._count()
            if self._counted_at is not None and now > self._counted_at:
                stored = self._counted + self._admitted - counted
                rate = max(0.0, stored) / (now - self._counted_at)
                self._rate = rate if self._rate is None else 0.7 * self._rate + 0.3 * rate
            self._counted, self._counted_at, self._admitted = counted, now, 0
        return self._counted + self._admitted
