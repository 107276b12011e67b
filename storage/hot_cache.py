"""Cube vectors kept in memory for search ("hot"), within a memory budget.

A cube is searched hot when it fits the budget: exactly while small, through IVF partitions once
it passes `ivf_min_rows`. A cube not yet loaded is loaded in the background (small ones on the
first search itself) and searched in its shard's Lance table meanwhile. A loaded cube follows its
change feed on each search, so a search after a completed write always sees it; the least
recently searched cubes are evicted when the budget is exceeded.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

import numpy as np

from pipeline.filters import SearchFilter
from pipeline.ivf import assign, kmeans, partitions_for
from storage.cube.reader import CubeReader
from storage.hot_vectors import HotVectors

log = logging.getLogger(__name__)

SYNC_LOAD_MAX = 20_000  # smaller cubes load on the first search itself (tens of milliseconds)

# This thread's read connection to a cube's file (None: no file yet), as the read side lends it.
CubeOpener = Callable[[str], AbstractContextManager[CubeReader | None]]


class _HotCube:
    def __init__(self, dim: int) -> None:
        self.vectors = HotVectors(dim)
        self.lock = threading.Lock()
        self.loaded = False
        self.busy = False  # a background load or partitioning is under way


class HotCache:
    def __init__(self, dim: int, open_cube: CubeOpener, max_bytes: int, ivf_min_rows: int, ivf_probes: int) -> None:
        self._dim, self._open_cube = dim, open_cube
        self._max_bytes, self._ivf_min_rows, self._ivf_probes = max_bytes, ivf_min_rows, ivf_probes
        self._hot: OrderedDict[str, _HotCube] = OrderedDict()
        self._lock = threading.Lock()
        self._background = ThreadPoolExecutor(1, thread_name_prefix="hot-vectors")

    def close(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)

    def search(self, cube_id: str, query: np.ndarray, k: int, filt: SearchFilter | None) -> list[tuple[str, float]] | None:
        """The cube's k best (memory id, cosine) from memory; None while its vectors are not in memory."""
        hot = self._ready(cube_id)
        if hot is None:
            return None
        with hot.lock:
            probes = self._ivf_probes if hot.vectors.partitioned else None
            return hot.vectors.search(query, k, filt, probes)

    def warm(self, cube_id: str) -> None:
        """Load a cube's vectors before anyone searches it (prediction from the prefetcher)."""
        self._ready(cube_id, wait=False)

    def forget(self, cube_id: str) -> None:
        with self._lock:
            self._hot.pop(cube_id, None)

    def cubes(self) -> list[str]:
        with self._lock:
            return [c for c, h in self._hot.items() if h.loaded]

    def is_hot(self, cube_id: str) -> bool:
        hot = self._hot.get(cube_id)
        return hot is not None and hot.loaded

    def warming(self) -> int:
        with self._lock:
            return sum(1 for h in self._hot.values() if h.busy)

    def nbytes(self) -> int:
        with self._lock:
            return sum(h.vectors.nbytes for h in self._hot.values())

    def _ready(self, cube_id: str, wait: bool = True) -> _HotCube | None:
        """The cube's hot vectors, current with its change feed; None while they are not in memory."""
        if self._max_bytes <= 0:
            return None
        with self._lock:
            hot = self._hot.get(cube_id)
            if hot is None:
                hot = self._hot[cube_id] = _HotCube(self._dim)
            self._hot.move_to_end(cube_id)
        if not hot.loaded:
            with self._open_cube(cube_id) as store:
                if store is None:
                    return None
                rows = store.active_count()
            if rows * self._dim * 4 > self._max_bytes:
                return None  # too big for the budget: its shard's Lance index serves it
            if rows <= SYNC_LOAD_MAX and wait:
                self._catch_up(cube_id, hot)
            else:
                self._schedule(cube_id, hot, self._load)
                return None
        else:
            self._catch_up(cube_id, hot)
        if hot.vectors.needs_partitions(self._ivf_min_rows):
            self._schedule(cube_id, hot, self._partition)
        self._evict(keep=cube_id)
        return hot

    def _catch_up(self, cube_id: str, hot: _HotCube) -> None:
        with hot.lock, self._open_cube(cube_id) as store:
            if store is None:
                return
            if store.last_change() != hot.vectors.seq or not hot.loaded:
                feed = store.changes_since(hot.vectors.seq)
                if feed.reset:
                    hot.vectors.clear()
                hot.vectors.remove(feed.deletes)
                hot.vectors.upsert(feed.upserts)
                hot.vectors.seq = feed.seq
            hot.loaded = True

    def _schedule(self, cube_id: str, hot: _HotCube, job: Callable[[str, _HotCube], None]) -> None:
        with hot.lock:
            if hot.busy:
                return
            hot.busy = True

        def run() -> None:
            try:
                job(cube_id, hot)
            except Exception:  # the cube stays on the Lance path; the next search tries again
                log.exception("background work on hot vectors of %s failed", cube_id)
            finally:
                hot.busy = False

        self._background.submit(run)

    def _load(self, cube_id: str, hot: _HotCube) -> None:
        """Bulk-load a large cube column by column, then follow its change feed from there."""
        fresh = HotVectors(self._dim)
        with self._open_cube(cube_id) as store:
            if store is None:
                return
            fresh.seq = store.last_change()
            for chunk in store.index_arrays():
                fresh.load_arrays(chunk)
        with hot.lock:
            hot.vectors = fresh
        self._catch_up(cube_id, hot)  # whatever changed while loading
        log.info("hot vectors of %s loaded: %d rows", cube_id, len(fresh))
        if fresh.needs_partitions(self._ivf_min_rows):
            # In the same background job, so "warming" lasts until searches take the fast path.
            self._partition(cube_id, hot)

    def _partition(self, cube_id: str, hot: _HotCube) -> None:
        with hot.lock:
            live, n_then = hot.vectors.partition_plan()
            sample = hot.vectors.rows_at(live)  # a copy: clustering runs without the lock
        centroids = kmeans(sample, partitions_for(len(live)))
        parts = assign(sample, centroids)
        with hot.lock:
            hot.vectors.apply_partitions(live, n_then, centroids, parts.astype(np.int64))
        log.info("hot vectors of %s partitioned: %d rows in %d partitions", cube_id, len(live), len(centroids))

    def _evict(self, keep: str) -> None:
        with self._lock:
            total = sum(h.vectors.nbytes for h in self._hot.values())
            for cube_id in list(self._hot):
                if total <= self._max_bytes:
                    break
                if cube_id != keep and not self._hot[cube_id].busy:
                    total -= self._hot.pop(cube_id).vectors.nbytes
