"""Everything the read path holds open: per-shard index readers, cube files, hot vector caches.

The pipeline marks a shard dirty when a batch lands; the next search reloads that shard's
readers first, and a cube's hot vectors follow the cube's change feed, so a search after a
completed write always sees it.

Vectors of a cube are searched in memory ("hot") when the cube fits the memory budget: exactly
while small, through IVF partitions once it passes `hot_ivf_min_rows`. A cube not yet loaded is
loaded in the background (small ones at once) and searched in its shard's Lance table meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from pipeline.filters import SearchFilter
from pipeline.ivf import assign, kmeans, partitions_for
from storage.cube_store import CubeStore
from storage.hot_vectors import HotVectors
from storage.lexical_index import LexicalReader
from storage.paths import DataPaths
from storage.vector_shard import VectorShard

log = logging.getLogger(__name__)

SYNC_LOAD_MAX = 20_000  # smaller cubes load on the first search itself (tens of milliseconds)


@dataclass(frozen=True)
class VectorTuning:
    hot_max_bytes: int
    hot_ivf_min_rows: int
    hot_ivf_probes: int
    ann_nprobes: int
    ann_refine_factor: int


@dataclass
class _ShardReaders:
    lexical: LexicalReader
    vectors: VectorShard
    dirty: bool = False


class _HotCube:
    def __init__(self, dim: int) -> None:
        self.vectors = HotVectors(dim)
        self.lock = threading.Lock()
        self.loaded = False
        self.busy = False  # a background load or partitioning is under way


class ReadSide:
    def __init__(self, paths: DataPaths, dim: int, tuning: VectorTuning) -> None:
        self._paths, self._dim, self._tuning = paths, dim, tuning
        self._shards: dict[str, _ShardReaders] = {}
        self._shards_lock = threading.Lock()
        self._hot: OrderedDict[str, _HotCube] = OrderedDict()
        self._hot_lock = threading.Lock()
        self._local = threading.local()
        self._generation = 0  # bumped when a cube is deleted: thread-local handles reopen
        self._background = ThreadPoolExecutor(1, thread_name_prefix="hot-vectors")

    def close(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)

    # --- shards ------------------------------------------------------------------------------

    def open_shard(self, shard: str) -> None:
        with self._shards_lock:
            if shard not in self._shards:
                self._shards[shard] = _ShardReaders(
                    LexicalReader(self._paths.lexical_dir(shard)),
                    VectorShard(self._paths.vectors_dir(shard), self._dim, create=False),
                )

    def mark_dirty(self, shard: str) -> None:
        readers = self._shards.get(shard)
        if readers is not None:
            readers.dirty = True

    def shard(self, shard: str) -> _ShardReaders:
        self.open_shard(shard)
        readers = self._shards[shard]
        if readers.dirty:
            readers.dirty = False
            readers.lexical.reload()
            readers.vectors.refresh()
        return readers

    # --- cube files --------------------------------------------------------------------------

    def forget_cube(self, cube_id: str) -> None:
        """A deleted cube: drop its hot vectors, and make every thread reopen (or miss) its file."""
        with self._hot_lock:
            self._hot.pop(cube_id, None)
        self._generation += 1

    @contextmanager
    def cube(self, cube_id: str) -> Iterator[CubeStore | None]:
        """This thread's read connection to a cube's file; None when the cube has no file yet."""
        stores: OrderedDict[str, CubeStore] = getattr(self._local, "stores", None) or OrderedDict()
        if getattr(self._local, "generation", None) != self._generation:
            for old in stores.values():
                old.close()
            stores = OrderedDict()
            self._local.generation = self._generation
        self._local.stores = stores
        store = stores.pop(cube_id, None)
        if store is None:
            path = self._paths.cube_db(cube_id)
            if not path.exists():
                yield None
                return
            store = CubeStore(path, create=False)
        stores[cube_id] = store
        while len(stores) > 32:
            stores.popitem(last=False)[1].close()
        yield store

    # --- vectors -----------------------------------------------------------------------------

    def vector_search(
        self, cube_id: str, shard: str, query: np.ndarray, k: int, filt: SearchFilter | None
    ) -> list[tuple[str, float]]:
        hot = self._ready_hot(cube_id)
        if hot is not None:
            with hot.lock:
                probes = self._tuning.hot_ivf_probes if hot.vectors.partitioned else None
                return hot.vectors.search(query, k, filt, probes)
        hits = self.shard(shard).vectors.search(
            query, [cube_id], k, filt, nprobes=self._tuning.ann_nprobes, refine_factor=self._tuning.ann_refine_factor
        )
        return [(memory_id, score) for _, memory_id, score in hits]

    def warm(self, cube_id: str) -> None:
        """Load a cube's vectors before anyone searches it (prediction from the prefetcher)."""
        self._ready_hot(cube_id, wait=False)

    def hot_cubes(self) -> list[str]:
        with self._hot_lock:
            return [c for c, h in self._hot.items() if h.loaded]

    def is_hot(self, cube_id: str) -> bool:
        hot = self._hot.get(cube_id)
        return hot is not None and hot.loaded

    def warming(self) -> int:
        with self._hot_lock:
            return sum(1 for h in self._hot.values() if h.busy)

    def hot_bytes(self) -> int:
        with self._hot_lock:
            return sum(h.vectors.nbytes for h in self._hot.values())

    def _ready_hot(self, cube_id: str, wait: bool = True) -> _HotCube | None:
        """The cube's hot vectors, current with its change feed; None while they are not in memory."""
        if self._tuning.hot_max_bytes <= 0:
            return None
        with self._hot_lock:
            hot = self._hot.get(cube_id)
            if hot is None:
                hot = self._hot[cube_id] = _HotCube(self._dim)
            self._hot.move_to_end(cube_id)
        if not hot.loaded:
            with self.cube(cube_id) as store:
                if store is None:
                    return None
                rows = store.active_count()
            if rows * self._dim * 4 > self._tuning.hot_max_bytes:
                return None  # too big for the budget: its shard's Lance index serves it
            if rows <= SYNC_LOAD_MAX and wait:
                self._catch_up(cube_id, hot)
            else:
                self._schedule(cube_id, hot, self._load)
                return None
        else:
            self._catch_up(cube_id, hot)
        if hot.vectors.needs_partitions(self._tuning.hot_ivf_min_rows):
            self._schedule(cube_id, hot, self._partition)
        self._evict(keep=cube_id)
        return hot

    def _catch_up(self, cube_id: str, hot: _HotCube) -> None:
        with hot.lock, self.cube(cube_id) as store:
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

    def _schedule(self, cube_id: str, hot: _HotCube, job) -> None:
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
        with self.cube(cube_id) as store:
            if store is None:
                return
            fresh.seq = store.last_change()
            for chunk in store.index_arrays():
                fresh.load_arrays(chunk)
        with hot.lock:
            hot.vectors = fresh
        self._catch_up(cube_id, hot)  # whatever changed while loading
        log.info("hot vectors of %s loaded: %d rows", cube_id, len(fresh))
        if fresh.needs_partitions(self._tuning.hot_ivf_min_rows):
            # In the same background job, so "warming" lasts until searches take the fast path.
            self._partition(cube_id, hot)

    def _partition(self, cube_id: str, hot: _HotCube) -> None:
        with hot.lock:
            live, n_then = hot.vectors.partition_plan()
            sample = hot.vectors._vecs[live]  # a copy: clustering runs without the lock
        centroids = kmeans(sample, partitions_for(len(live)))
        parts = assign(sample, centroids)
        with hot.lock:
            hot.vectors.apply_partitions(live, n_then, centroids, parts.astype(np.int64))
        log.info("hot vectors of %s partitioned: %d rows in %d partitions", cube_id, len(live), len(centroids))

    def _evict(self, keep: str) -> None:
        with self._hot_lock:
            total = sum(h.vectors.nbytes for h in self._hot.values())
            for cube_id in list(self._hot):
                if total <= self._tuning.hot_max_bytes:
                    break
                if cube_id != keep and not self._hot[cube_id].busy:
                    total -= self._hot.pop(cube_id).vectors.nbytes
