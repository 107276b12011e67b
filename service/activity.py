"""Recent searches and writes in this front door: a small rolling window for the Overview page.

Fed by the runtime's hooks (every write and search names its agent and cubes; a finished search
also says how long it took). Nothing is kept beyond the window or past `max_events`, and nothing
survives a restart: it says what is happening now, not history.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass

WINDOW_S = 900.0  # what the Overview looks back over (15 minutes)
MAX_EVENTS = 20_000  # a busy server keeps the newest; the Overview's figures then cover less time


@dataclass(frozen=True)
class SearchRate:
    last_minute: int  # searches in the last 60 s
    per_minute: float  # average over the window
    p50_ms: float | None  # median time of the searches in the window (None: none)
    timed: int  # how many searches the median is over
    window_s: float


@dataclass(frozen=True)
class CubeActivity:
    cube: str
    searches: int
    writes: int


class Activity:
    def __init__(self, window_s: float = WINDOW_S, max_events: int = MAX_EVENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s, self._clock = window_s, clock
        self._events: deque[tuple[float, str, str, tuple[str, ...]]] = deque(maxlen=max_events)  # (t, kind, agent, cubes)
        self._timings: deque[tuple[float, str, float]] = deque(maxlen=max_events)  # (t, agent, ms)
        self._lock = threading.Lock()

    def record(self, kind: str, agent: str, cubes: list[str]) -> None:
        """A write or a search (`kind`) by `agent` touching `cubes`."""
        now = self._clock()
        with self._lock:
            self._events.append((now, kind, agent, tuple(cubes)))
            _prune(self._events, now - self._window_s)

    def searched(self, agent: str, took_ms: float) -> None:
        """A search finished after `took_ms`."""
        now = self._clock()
        with self._lock:
            self._timings.append((now, agent, took_ms))
            _prune(self._timings, now - self._window_s)

    def search_rate(self, agents: Collection[str] | None) -> SearchRate:
        """Searches by these agents (None: everyone) in the last minute and over the window, and their p50."""
        now = self._clock()
        since = now - self._window_s
        with self._lock:
            starts = [t for t, kind, agent, _ in self._events
                      if kind == "search" and t >= since and (agents is None or agent in agents)]
            times = sorted(ms for t, agent, ms in self._timings if t >= since and (agents is None or agent in agents))
        return SearchRate(
            last_minute=sum(1 for t in starts if t >= now - 60),
            per_minute=round(len(starts) / (self._window_s / 60), 2),
            p50_ms=round(_median(times), 2) if times else None,
            timed=len(times),
            window_s=self._window_s,
        )

    def hot_cubes(self, visible: Collection[str], n: int = 5) -> list[CubeActivity]:
        """The `visible` cubes searched and written most over the window, busiest first."""
        since = self._clock() - self._window_s
        searches: Counter[str] = Counter()
        writes: Counter[str] = Counter()
        with self._lock:
            for t, kind, _, cubes in self._events:
                if t < since:
                    continue
                counter = searches if kind == "search" else writes
                counter.update(c for c in cubes if c in visible)
        busiest = sorted(set(searches) | set(writes), key=lambda c: (-(searches[c] + writes[c]), c))[:n]
        return [CubeActivity(c, searches[c], writes[c]) for c in busiest]


def _prune(events: deque, before: float) -> None:
    while events and events[0][0] < before:
        events.popleft()


def _median(sorted_values: list[float]) -> float:
    mid = len(sorted_values) // 2
    if len(sorted_values) % 2:
        return sorted_values[mid]
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2
