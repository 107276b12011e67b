"""The front door's side of prefetching: record activity cheaply, ship it in batches, warm the plan."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import ray

from storage.read_side import ReadSide

log = logging.getLogger(__name__)


class Prefetcher:
    def __init__(self, actor: Any, read: ReadSide, interval_s: float = 0.5) -> None:
        self._actor, self._read, self._interval = actor, read, interval_s
        self._events: deque[tuple[str, list[str], str, float]] = deque(maxlen=10_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
        self.warmed = 0
        # Whether a warmed cube was worth it: its next search finds it hot (a hit); a search that
        # finds a cube cold is a miss, predicted or not.
        self.hits = 0
        self.misses = 0
        self._predicted: set[str] = set()  # warmed and not searched since
        self._score_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def record(self, agent: str, cubes: list[str], kind: str) -> None:
        """Called on the request path: an append, no I/O."""
        self._events.append((agent, cubes, kind, time.time()))
        if kind == "search":
            self._score(cubes)

    def _score(self, cubes: list[str]) -> None:
        """Before the search reads them: which searched cubes are hot, and whether the prefetcher made them so."""
        hot = [self._read.is_hot(cube) for cube in cubes]
        with self._score_lock:
            for cube, is_hot in zip(cubes, hot):
                predicted = cube in self._predicted
                self._predicted.discard(cube)
                if not is_hot:
                    self.misses += 1
                elif predicted:
                    self.hits += 1

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._step()
            except ray.exceptions.RayError:
                log.warning("prefetch actor unavailable; retrying")

    def _step(self) -> None:
        events = [self._events.popleft() for _ in range(len(self._events))]
        if events:
            self._actor.observe.remote(events)
        hot = [c for c in self._read.hot_cubes()]
        for cube in ray.get(self._actor.plan.remote(hot), timeout=10):
            if not self._read.is_hot(cube):
                try:
                    self._read.warm(cube)
                except Exception as exc:  # a guess that failed; the thread must live on for the next ones
                    log.warning("prefetch: warming cube %s failed (%s: %s); its first search loads it",
                                cube, type(exc).__name__, exc)
                    continue
                self.warmed += 1
                with self._score_lock:
                    self._predicted.add(cube)
