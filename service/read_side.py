"""Everything the read path holds open: per-shard index readers, cube files, hot vector caches.

The pipeline marks a shard dirty when a batch lands; the next search reloads that shard's
readers first, and a cube's hot vectors follow the cube's change feed, so a search after a
completed write always sees it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from pipeline.filters import SearchFilter
from storage.cube_store import CubeStore
from storage.hot_vectors import HotVectors
from storage.lexical_index import LexicalReader
from storage.paths import DataPaths
from storage.vector_shard import VectorShard

log = logging.getLogger(__name__)


@dataclass
class _ShardReaders:
    lexical: LexicalReader
    vectors: VectorShard
    dirty: bool = False


class _HotCube:
    def __init__(self, dim: int) -> None:
        self.vectors = HotVectors(dim)
        self.lock = threading.Lock()


class ReadSide:
    def __init__(self, paths: DataPaths, dim: int, hot_max_bytes: int) -> None:
        self._paths, self._dim, self._hot_max = paths, dim, hot_max_bytes
        self._shards: dict[str, _ShardReaders] = {}
        self._shards_lock = threading.Lock()
        self._hot: OrderedDict[str, _HotCube] = OrderedDict()
        self._hot_lock = threading.Lock()
        self._local = threading.local()
        self._generation = 0  # bumped when a cube is deleted: thread-local handles reopen

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
        hot = self._hot_cube(cube_id)
        if hot is not None:
            with hot.lock:
                return hot.vectors.search(query, k, filt)
        hits = self.shard(shard).vectors.search(query, [cube_id], k, filt)
        return [(memory_id, score) for _, memory_id, score in hits]

    def _hot_cube(self, cube_id: str) -> _HotCube | None:
        """The cube's in-memory vectors, brought up to date with its change feed."""
        if self._hot_max <= 0:
            return None
        with self._hot_lock:
            hot = self._hot.get(cube_id)
            if hot is None:
                hot = self._hot[cube_id] = _HotCube(self._dim)
            self._hot.move_to_end(cube_id)
        with hot.lock, self.cube(cube_id) as store:
            if store is None:
                return hot
            if store.last_change() != hot.vectors.seq:
                feed = store.changes_since(hot.vectors.seq)
                if feed.reset:
                    hot.vectors.clear()
                hot.vectors.remove(feed.deletes)
                hot.vectors.upsert(feed.upserts)
                hot.vectors.seq = feed.seq
        self._evict_hot(keep=cube_id)
        return hot

    def warm(self, cube_id: str) -> None:
        self._hot_cube(cube_id)

    def hot_bytes(self) -> int:
        with self._hot_lock:
            return sum(h.vectors.nbytes for h in self._hot.values())

    def _evict_hot(self, keep: str) -> None:
        with self._hot_lock:
            total = sum(h.vectors.nbytes for h in self._hot.values())
            for cube_id in list(self._hot):
                if total <= self._hot_max:
                    break
                if cube_id != keep:
                    total -= self._hot.pop(cube_id).vectors.nbytes
