"""The dedupe stage's memory of a shard: ids, content hashes and vectors per cube.

Loaded from a cube's file the first time the cube is seen, then kept current by the changes the
dedupe stage itself decides (it sees every mutation of its shard, in order), so batches still in
flight to the writer are already known when the next batch is checked.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np

from pipeline.dedupe import StateChange
from pipeline.records import Status
from storage.cube.reader import CubeReader
from storage.hot_vectors import HotVectors
from storage.paths import DataPaths

# A cube untouched this long has no batch in flight any more, so it may be evicted and reloaded.
EVICT_AFTER_S = 300.0


class KnownCubeState:
    def __init__(self, dim: int, max_vectors: int) -> None:
        self.ids: set[str] = set()
        self.by_hash: dict[str, str] = {}
        self.hash_of: dict[str, str] = {}
        self.vectors = HotVectors(dim)
        # Past this many vectors an exact near-duplicate check costs more than it is worth
        # (a batch x cube matrix product): such cubes keep exact-duplicate detection only.
        self.max_vectors = max_vectors
        self.near_checks = True
        self.touched = time.monotonic()

    def id_exists(self, memory_id: str) -> bool:
        return memory_id in self.ids

    def id_for_hash(self, content_hash: str) -> str | None:
        return self.by_hash.get(content_hash)

    def nearest(self, vectors: np.ndarray) -> list[tuple[str, float] | None]:
        if not self.near_checks:
            return [None] * len(vectors)
        return self.vectors.nearest(vectors)

    def remember(self, memory_id: str, content_hash: str | None, vector: np.ndarray | None, active: bool) -> None:
        self.ids.add(memory_id)
        old = self.hash_of.pop(memory_id, None)
        if old is not None and self.by_hash.get(old) == memory_id:
            del self.by_hash[old]
        if not active:
            return
        if content_hash is not None:
            self.hash_of[memory_id] = content_hash
            self.by_hash.setdefault(content_hash, memory_id)
        if vector is not None and self.near_checks:
            self.vectors.put_vector(memory_id, vector)
            if len(self.vectors) > self.max_vectors:
                self.near_checks = False
                self.vectors.clear()

    def forget(self, memory_id: str) -> None:
        self.ids.discard(memory_id)
        old = self.hash_of.pop(memory_id, None)
        if old is not None and self.by_hash.get(old) == memory_id:
            del self.by_hash[old]
        self.vectors.remove([memory_id])


class DedupeIndex:
    """KnownState for pipeline.dedupe over every cube of one shard."""

    def __init__(self, paths: DataPaths, dim: int, max_cubes: int = 256, max_vectors: int = 100_000) -> None:
        self._paths, self._dim, self._max, self._max_vectors = paths, dim, max_cubes, max_vectors
        self._cubes: OrderedDict[str, KnownCubeState] = OrderedDict()

    def cube(self, cube_id: str) -> KnownCubeState:
        state = self._cubes.get(cube_id)
        if state is None:
            state = self._load(cube_id)
            self._cubes[cube_id] = state
            self._evict()
        self._cubes.move_to_end(cube_id)
        state.touched = time.monotonic()
        return state

    def clear(self) -> None:
        self._cubes.clear()

    def forget_cube(self, cube_id: str) -> None:
        self._cubes.pop(cube_id, None)

    def apply(self, changes: list[StateChange]) -> None:
        for change in changes:
            state = self.cube(change.cube)
            if change.action == "forget":
                state.forget(change.memory_id)
            else:
                state.remember(change.memory_id, change.content_hash, change.vector, change.active)

    def _load(self, cube_id: str) -> KnownCubeState:
        state = KnownCubeState(self._dim, self._max_vectors)
        path = self._paths.cube_db(cube_id)
        if not path.exists():
            return state
        store = CubeReader(path)
        try:
            for memory_id, status, content_hash, vector in store.dedupe_rows():
                state.remember(memory_id, content_hash, vector, status == Status.ACTIVE)
        finally:
            store.close()
        return state

    def _evict(self) -> None:
        now = time.monotonic()
        while len(self._cubes) > self._max:
            cube_id, state = next(iter(self._cubes.items()))
            if now - state.touched < EVICT_AFTER_S:
                return
            del self._cubes[cube_id]
