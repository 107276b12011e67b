"""The front door's side of prefetching: record activity cheaply, ship it in batches, warm the cubes
the prefetch actor predicts, and hold ready the memories the next searches are predicted to need.

Memories held ready are one pool per cube (pipeline/prefetch_pool.py): the whole cube when it has
at most `pool_max` active memories, else the nearest memories of each predicted query (the cube's
latest turns, its open episodes' tasks and its skills, from the actor; and the cube's recent
searches), with their records and near-duplicate links read from the file. A search asks `ready`
after embedding its query: when every cube it reads has a current pool that provably holds its exact
vector candidates, it is a hit, and the search reads its vectors and records from the pools instead
of the hot vectors and the cube files (BM25 still runs, as on every search); otherwise it is a miss
and takes the full path, having cost a dictionary lookup and, for a partial pool, one product of the
query with the pool's anchors. A pool is dropped as soon as the pipeline finishes any write to its
cube (`completed`, a completion listener called before the waiters wake), so a hit never answers
from records older than what a read-your-writes client has been told is stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import ray

from actors.pipeline_driver import Completion
from pipeline.filters import SearchFilter
from pipeline.prefetch_pool import Pool, certified_top, choose
from pipeline.records import MemoryRecord
from storage.cube.reader import CubeReader
from storage.read_side import ReadSide

log = logging.getLogger(__name__)

RECENT_SEARCHES = 4  # query vectors kept per cube as predicted queries
MAX_POOLS = 64  # cubes whose memories are held ready at once
SEARCHED_CUBES = 1_024  # cubes whose recent query vectors are kept
REPREPARE_S = 2.0
PREPARES_PER_STEP = 4


@dataclass
class PreparedCube:
    """One cube's pool and what ranking reads of its memories."""

    pool: Pool
    records: dict[str, MemoryRecord]
    near_duplicate_of: dict[str, str]
    row: dict[str, int] = field(default_factory=dict)  # id -> row of pool.vectors

    def __post_init__(self) -> None:
        self.row = {memory_id: i for i, memory_id in enumerate(self.pool.ids)}


class PooledReader:
    """What ranking reads of a cube (CubeReader's get_many, links_from, embeddings), from its pool;
    ids the pool does not hold (a BM25 candidate outside a partial pool) are read from the file."""

    def __init__(self, prepared: PreparedCube, store: Callable[[], CubeReader | None]) -> None:
        self._p, self._store = prepared, store

    def get_many(self, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        found = {i: self._p.records[i] for i in ids if i in self._p.records}
        rest = [i for i in ids if i not in self._p.row]
        store = self._store() if rest else None
        if store is not None:
            found.update(store.get_many(rest))
        return found

    def links_from(self, ids: Sequence[str], link_type: str) -> list[tuple[str, str]]:
        held = {i for i in ids if i in self._p.row} if link_type == "near_duplicate" else set()
        links = [(i, self._p.near_duplicate_of[i]) for i in ids if i in held and i in self._p.near_duplicate_of]
        rest = [i for i in ids if i not in held]
        store = self._store() if rest else None
        return links + (store.links_from(rest, link_type) if store is not None else [])

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        found = {i: self._p.pool.vectors[self._p.row[i]] for i in ids if i in self._p.row}
        rest = [i for i in ids if i not in self._p.row]
        store = self._store() if rest else None
        if store is not None:
            found.update(store.embeddings(rest))
        return found


class ReadyAnswer:
    """A search the pools answer: it stands in for the ReadSide in the search's vector and fetch steps."""

    def __init__(self, read: ReadSide, prepared: dict[str, PreparedCube], query: np.ndarray,
                 vector: dict[str, list[tuple[str, float]]]) -> None:
        self._read, self._prepared, self._query, self._vector = read, prepared, query, vector

    def vector_search(self, cube_id: str, shard: str, query: np.ndarray, k: int,
                      filt: SearchFilter | None) -> list[tuple[str, float]]:
        """The answer proved for the search's query; another query (a segment of a long one) is
        proved again on the pool, or searched the full way when it cannot be."""
        if query is self._query and cube_id in self._vector and k <= len(self._vector[cube_id]):
            return self._vector[cube_id][:k]
        prepared = self._prepared.get(cube_id)
        top = certified_top(prepared.pool, query, k) if prepared is not None and (filt is None or filt.empty) else None
        return top if top is not None else self._read.vector_search(cube_id, shard, query, k, filt)

    @contextmanager
    def cube(self, cube_id: str) -> Iterator[PooledReader | CubeReader | None]:
        prepared = self._prepared.get(cube_id)
        if prepared is None:
            with self._read.cube(cube_id) as store:
                yield store
            return
        with _LazyStore(self._read, cube_id) as store:
            yield PooledReader(prepared, store)


class _LazyStore:
    """The cube file's reader, opened only if a pooled read needs an id the pool lacks."""

    def __init__(self, read: ReadSide, cube_id: str) -> None:
        self._read, self._cube = read, cube_id
        self._cm: Any = None
        self._store: CubeReader | None = None

    def __enter__(self) -> Callable[[], CubeReader | None]:
        return self._open

    def _open(self) -> CubeReader | None:
        if self._cm is None:
            self._cm = self._read.cube(self._cube)
            self._store = self._cm.__enter__()
        return self._store

    def __exit__(self, *exc: object) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)


class Prefetcher:
    def __init__(self, actor: Any, read: ReadSide, embed: Callable[[str], np.ndarray] | None = None,
                 pool_max: int = 2_000, interval_s: float = 0.5) -> None:
        self._actor, self._read, self._embed, self._interval = actor, read, embed, interval_s
        self.pool_max = pool_max
        self._events: deque[tuple[str, list[str], str, float]] = deque(maxlen=10_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
        self._step_lock = threading.Lock()  # the thread's steps and an explicit step() never overlap
        self.warmed = 0
        # Memory prefetch: a search answered from the pools is a hit, any other search a miss.
        self.hits = 0
        self.misses = 0
        self.prepared_pools = 0
        self._pools: dict[str, PreparedCube] = {}
        self._generation: defaultdict[str, int] = defaultdict(int)  # bumped by every write that lands in a cube
        # Each cube's latest query vectors, for the cubes searched last (a fleet has more cubes than this).
        self._searched: OrderedDict[str, deque[np.ndarray]] = OrderedDict()
        self._prepared_at: dict[str, float] = {}  # cube -> when its pool was last read
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def record(self, agent: str, cubes: list[str], kind: str) -> None:
        """Called on the request path: an append, no I/O."""
        self._events.append((agent, cubes, kind, time.time()))

    # --- the search's side -------------------------------------------------------------------

    def ready(self, cubes: Sequence[Any], query: np.ndarray, k: int, filt: SearchFilter) -> ReadyAnswer | None:
        """The pools' answer to a search of these cubes (each with `.id`), or None: take the full path.

        A filtered search always misses: a pool's proof is about the unfiltered top k."""
        with self._lock:
            for cube in cubes:
                recent = self._searched.pop(cube.id, None) or deque(maxlen=RECENT_SEARCHES)
                recent.append(query)
                self._searched[cube.id] = recent
            while len(self._searched) > SEARCHED_CUBES:
                self._searched.popitem(last=False)
            prepared = {c.id: self._pools.get(c.id) for c in cubes}
        vector: dict[str, list[tuple[str, float]]] = {}
        if cubes and filt.empty and all(p is not None for p in prepared.values()):
            for cube_id, p in prepared.items():
                top = certified_top(p.pool, query, k)  # type: ignore[union-attr]
                if top is None:
                    break
                vector[cube_id] = top
        with self._lock:
            if len(vector) == len(cubes) and cubes:
                self.hits += 1
                return ReadyAnswer(self._read, prepared, query, vector)  # type: ignore[arg-type]
            self.misses += 1
        return None

    def completed(self, completion: Completion) -> None:
        """A completion listener: a write landed in these cubes, so their pools are out of date."""
        for cube in completion.cubes:
            self.drop(cube, settled=False)

    def drop(self, cube: str, settled: bool = True) -> None:
        """Let go of a cube's pool; the next round prepares it again if the cube is still predicted, at
        once when `settled`, else (a write just landed: more may follow) not before REPREPARE_S."""
        with self._lock:
            self._generation[cube] += 1
            self._pools.pop(cube, None)
            if settled:
                self._prepared_at.pop(cube, None)

    def held(self) -> list[str]:
        """Cubes whose memories are held ready now."""
        with self._lock:
            return list(self._pools)

    # --- the prefetch thread -----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.step(paced=True)
            except ray.exceptions.RayError:
                log.warning("prefetch actor unavailable; retrying")

    def step(self, paced: bool = False) -> list[str]:
        """One round: ship the activity, warm the predicted cubes, prepare the predicted memories.
        The cubes whose pools it prepared. The thread's rounds are `paced`; tests and the benchmark
        call it unpaced, to run a whole round now."""
        with self._step_lock:
            events = [self._events.popleft() for _ in range(len(self._events))]
            if events:
                self._actor.observe.remote(events)
            self._warm(ray.get(self._actor.plan.remote(self._read.hot_cubes()), timeout=10))
            if self._embed is None:
                return []
            plan = ray.get(self._actor.plan_memories.remote(self.held()), timeout=10)
            now = time.monotonic()
            with self._lock:
                # A cube under a stream of writes is read again at most every REPREPARE_S, and a round
                # reads at most PREPARES_PER_STEP cubes: the reads hold the front door's GIL.
                due = [(c, t) for c, t in plan
                       if not paced or c not in self._prepared_at or now - self._prepared_at[c] >= REPREPARE_S]
            done = []
            for cube, texts in due[:PREPARES_PER_STEP] if paced else due:
                try:
                    if self.prepare(cube, texts):
                        done.append(cube)
                except Exception as exc:  # a guess that failed; the next search takes the full path
                    log.warning("prefetch: preparing cube %s failed (%s: %s)", cube, type(exc).__name__, exc)
            return done

    def _warm(self, cubes: list[str]) -> None:
        for cube in cubes:
            if not self._read.is_hot(cube):
                try:
                    self._read.warm(cube)
                except Exception as exc:  # a guess that failed; the thread must live on for the next ones
                    log.warning("prefetch: warming cube %s failed (%s: %s); its first search loads it",
                                cube, type(exc).__name__, exc)
                    continue
                self.warmed += 1

    def prepare(self, cube: str, texts: Sequence[str]) -> bool:
        """Read one cube's pool: whole, or the nearest memories of each predicted query. False when
        the cube has no file yet, or a write landed in it meanwhile (the next round tries again)."""
        with self._lock:
            generation = self._generation[cube]
            searched = list(self._searched.get(cube, ()))
            self._prepared_at[cube] = time.monotonic()
        with self._read.cube(cube) as store:
            if store is None:
                return False
            chunks = list(store.index_arrays())
            ids = [i for c in chunks for i in c["ids"]]
            vectors = np.concatenate([c["vectors"] for c in chunks]) if chunks else np.zeros((0, 0), np.float32)
            whole = len(ids) <= self.pool_max
            if whole:
                anchors, floors, keep = np.zeros((0, vectors.shape[1] if vectors.size else 0), np.float32), \
                    np.zeros(0, np.float32), np.arange(len(ids))
            else:
                anchors = np.stack([self._embed(t) for t in texts] + searched).astype(np.float32) \
                    if (texts or searched) else np.zeros((0, vectors.shape[1]), np.float32)
                keep, floors = choose(vectors, anchors, max(1, self.pool_max // max(1, len(anchors))))
            pool_ids = [ids[i] for i in keep]
            records = store.get_many(pool_ids)
            links = dict(store.links_from(pool_ids, "near_duplicate"))
        pool = Pool(pool_ids, np.ascontiguousarray(vectors[keep]) if len(keep) else vectors[:0], anchors, floors, whole)
        with self._lock:
            if self._generation[cube] != generation:
                return False
            self._pools.pop(cube, None)
            self._pools[cube] = PreparedCube(pool, records, links)
            while len(self._pools) > MAX_POOLS:  # the oldest prepared goes first
                self._pools.pop(next(iter(self._pools)))
            self.prepared_pools += 1
        return True
