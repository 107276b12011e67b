"""Everything the read path holds open: per-shard index readers, per-thread cube file handles and
the hot vector cache (storage/hot_cache.py).

The pipeline marks a shard dirty when a batch lands; the next search reloads that shard's readers
first, and a cube's hot vectors follow the cube's change feed, so a search after a completed write
always sees it. A cube whose vectors are not hot is searched in its shard's Lance table.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from pipeline.filters import SearchFilter
from storage.cube.reader import CubeReader
from storage.hot_cache import HotCache
from storage.lexical_index import LexicalReader
from storage.paths import DataPaths
from storage.vector_shard import VectorShard


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


class ReadSide:
    def __init__(self, paths: DataPaths, dim: int, tuning: VectorTuning) -> None:
        self._paths, self._dim, self._tuning = paths, dim, tuning
        self._shards: dict[str, _ShardReaders] = {}
        self._shards_lock = threading.Lock()
        self._local = threading.local()
        self._generation = 0  # bumped when a cube is deleted: thread-local handles reopen
        self._hot = HotCache(dim, self.cube, tuning.hot_max_bytes, tuning.hot_ivf_min_rows, tuning.hot_ivf_probes)

    def close(self) -> None:
        self._hot.close()

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
        self._hot.forget(cube_id)
        self._generation += 1

    @contextmanager
    def cube(self, cube_id: str) -> Iterator[CubeReader | None]:
        """This thread's read connection to a cube's file; None when the cube has no file yet."""
        stores: OrderedDict[str, CubeReader] = getattr(self._local, "stores", None) or OrderedDict()
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
            store = CubeReader(path)
        stores[cube_id] = store
        while len(stores) > 32:
            stores.popitem(last=False)[1].close()
        yield store

    # --- vectors -----------------------------------------------------------------------------

    def vector_search(
        self, cube_id: str, shard: str, query: np.ndarray, k: int, filt: SearchFilter | None
    ) -> list[tuple[str, float]]:
        """The cube's k nearest memories: from memory when its vectors are hot, else its shard's Lance table."""
        hits = self._hot.search(cube_id, query, k, filt)
        if hits is not None:
            return hits
        found = self.shard(shard).vectors.search(
            query, [cube_id], k, filt, nprobes=self._tuning.ann_nprobes, refine_factor=self._tuning.ann_refine_factor
        )
        return [(memory_id, score) for _, memory_id, score in found]

    def warm(self, cube_id: str) -> None:
        """Load a cube's vectors before anyone searches it (prediction from the prefetcher)."""
        self._hot.warm(cube_id)

    def hot_cubes(self) -> list[str]:
        return self._hot.cubes()

    def is_hot(self, cube_id: str) -> bool:
        return self._hot.is_hot(cube_id)

    def warming(self) -> int:
        return self._hot.warming()

    def hot_bytes(self) -> int:
        return self._hot.nbytes()
