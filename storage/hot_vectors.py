"""A cube's vectors held in memory for search in a few milliseconds (numpy, no copies per query).

Rows are overwritten in place on update and tombstoned on delete; the matrix is compacted when a
quarter of it is dead. Small cubes are searched exactly (one matrix-vector product). Large ones
can be partitioned (`build_ivf`): rows are regrouped so each k-means partition is one contiguous
slice, and a query scans only the slices of its nearest centroids plus the rows added since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from pipeline.filters import SearchFilter
from pipeline.ivf import build_layout, partitions_for
from pipeline.records import IndexRow


class HotVectors:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.seq = 0  # position in the cube's change feed that this copy reflects
        self._vecs = np.zeros((0, dim), dtype=np.float32)
        self._n = 0
        self._ids: list[str | None] = []
        self._row: dict[str, int] = {}
        self._alive = np.zeros(0, dtype=bool)
        self._kinds: list[str] = []
        self._tiers: list[str] = []
        self._created = np.zeros(0, dtype=np.int64)
        self._tags: list[frozenset[str]] = []
        self._centroids: np.ndarray | None = None  # IVF: partition p is rows bounds[p]:bounds[p+1]
        self._bounds: np.ndarray | None = None
        self._indexed = 0  # rows [0, _indexed) are partitioned; the rest is the unindexed tail

    def __len__(self) -> int:
        return len(self._row)

    @property
    def nbytes(self) -> int:
        return int(self._vecs.nbytes + self._created.nbytes + self._alive.nbytes)

    @property
    def partitioned(self) -> bool:
        return self._centroids is not None

    def clear(self) -> None:
        self.__init__(self.dim)

    def _grow(self, need: int) -> None:
        if need <= len(self._vecs):
            return
        cap = max(need, 2 * len(self._vecs), 256)
        vecs = np.zeros((cap, self.dim), dtype=np.float32)
        vecs[: self._n] = self._vecs[: self._n]
        alive = np.zeros(cap, dtype=bool)
        alive[: self._n] = self._alive[: self._n]
        created = np.zeros(cap, dtype=np.int64)
        created[: self._n] = self._created[: self._n]
        self._vecs, self._alive, self._created = vecs, alive, created

    def upsert(self, rows: Iterable[IndexRow]) -> None:
        """Index rows with a vector; kind, tier, tags and created_at feed the filters."""
        rows = [r for r in rows if r.vector is not None]
        self._grow(self._n + len(rows))
        for r in rows:
            self._put(r.id, r.vector, r.kind, r.tier, frozenset(r.tags or ()), int(r.created_at or 0))

    def put_vector(self, memory_id: str, vector: np.ndarray) -> None:
        """A bare vector with no filter fields (the dedupe state's nearest-neighbour index)."""
        self._grow(self._n + 1)
        self._put(memory_id, vector, "", "", frozenset(), 0)

    def _put(self, memory_id: str, vector: np.ndarray, kind: str, tier: str, tags: frozenset[str],
             created_at: int) -> None:
        i = self._row.get(memory_id)
        if i is None:
            i = self._n
            self._n += 1
            self._ids.append(memory_id)
            self._kinds.append(kind)
            self._tiers.append(tier)
            self._tags.append(tags)
            self._row[memory_id] = i
        else:
            self._kinds[i] = kind
            self._tiers[i] = tier
            self._tags[i] = tags
        self._vecs[i] = vector
        self._alive[i] = True
        self._created[i] = created_at

    def load_arrays(self, chunk: dict[str, Any]) -> None:
        """Append a column chunk of new rows (a bulk load; ids must not be present yet)."""
        n = len(chunk["ids"])
        self._grow(self._n + n)
        a, b = self._n, self._n + n
        self._vecs[a:b] = chunk["vectors"]
        self._alive[a:b] = True
        self._created[a:b] = chunk["created_at"]
        self._ids += chunk["ids"]
        self._kinds += chunk["kinds"]
        self._tiers += chunk["tiers"]
        self._tags += [frozenset(t) for t in chunk["tags"]]
        self._row.update(zip(chunk["ids"], range(a, b)))
        self._n = b

    def remove(self, ids: Iterable[str]) -> None:
        for memory_id in ids:
            i = self._row.pop(memory_id, None)
            if i is not None:
                self._alive[i] = False
                self._ids[i] = None
        if self._n > 1024 and len(self._row) < 0.75 * self._n and not self.partitioned:
            self._reorder(np.flatnonzero(self._alive[: self._n]))

    def _reorder(self, keep: np.ndarray) -> None:
        """Keep only rows `keep`, in that order (compaction, or grouping by partition)."""
        self._vecs = self._vecs[keep].copy()
        self._alive = self._alive[keep].copy()
        self._created = self._created[keep].copy()
        self._ids = [self._ids[i] for i in keep]
        self._kinds = [self._kinds[i] for i in keep]
        self._tiers = [self._tiers[i] for i in keep]
        self._tags = [self._tags[i] for i in keep]
        self._n = len(keep)
        self._row = {memory_id: i for i, memory_id in enumerate(self._ids) if memory_id is not None}

    # --- partitioning ------------------------------------------------------------------------

    def needs_partitions(self, min_rows: int) -> bool:
        """Worth (re)building: big enough, and unpartitioned or with a tail or dead share over 20 %."""
        if len(self) < min_rows:
            return False
        if not self.partitioned:
            return True
        tail = self._n - self._indexed
        return tail > 0.2 * self._indexed or len(self) < 0.8 * self._n

    def partition_plan(self) -> tuple[np.ndarray, int]:
        """A snapshot to cluster outside the lock: the live rows' positions and the row count."""
        return np.flatnonzero(self._alive[: self._n]), self._n

    def rows_at(self, positions: np.ndarray) -> np.ndarray:
        """A copy of the vectors at these positions (a partition plan's sample, clustered outside the lock)."""
        return self._vecs[positions]

    def apply_partitions(self, live: np.ndarray, n_then: int, centroids: np.ndarray, parts: np.ndarray) -> None:
        """Regroup rows by partition; rows added since the snapshot stay in the tail."""
        still = self._alive[live]
        live, parts = live[still], parts[still]
        order = np.argsort(parts, kind="stable")
        grouped = live[order]
        bounds = np.searchsorted(parts[order], np.arange(len(centroids) + 1))
        tail = np.arange(n_then, self._n)
        self._reorder(np.concatenate([grouped, tail[self._alive[tail]]]))
        self._centroids, self._bounds, self._indexed = centroids, bounds.astype(np.int64), len(grouped)

    def build_ivf(self, partitions: int | None = None) -> None:
        """Partition now, in this thread (tests and small cubes; the hot cache does it in the background)."""
        live, n_then = self.partition_plan()
        layout = build_layout(self._vecs[live], partitions or partitions_for(len(live)))
        parts = np.empty(len(live), dtype=np.int64)
        for p in range(len(layout.centroids)):
            parts[layout.order[layout.bounds[p] : layout.bounds[p + 1]]] = p
        self.apply_partitions(live, n_then, layout.centroids, parts)

    # --- search ------------------------------------------------------------------------------

    def _admit(self, positions: np.ndarray, filt: SearchFilter | None) -> np.ndarray:
        ok = self._alive[positions].copy()
        if filt is None or filt.empty:
            return ok
        created = self._created[positions]
        if filt.since is not None:
            ok &= created >= filt.since
        if filt.until is not None:
            ok &= created < filt.until
        if filt.kinds or filt.tiers or filt.tags:
            for j in np.flatnonzero(ok):
                i = positions[j]
                if not filt.admits(self._kinds[i], self._tiers[i], self._tags[i], int(created[j])):
                    ok[j] = False
        return ok

    def _candidates(self, query: np.ndarray, probes: int | None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) to rank: every row, or the probed partitions plus the tail."""
        if not self.partitioned or probes is None:
            return np.arange(self._n), self._vecs[: self._n] @ query
        best = np.argpartition(-(self._centroids @ query), min(probes, len(self._centroids)) - 1)[:probes]
        spans = [(int(self._bounds[p]), int(self._bounds[p + 1])) for p in best] + [(self._indexed, self._n)]
        positions = np.concatenate([np.arange(a, b) for a, b in spans])
        scores = np.concatenate([self._vecs[a:b] @ query for a, b in spans])
        return positions, scores

    def search(
        self, query: np.ndarray, k: int, filt: SearchFilter | None = None, probes: int | None = None
    ) -> list[tuple[str, float]]:
        """The k rows of highest cosine to a unit-length query (approximate when `probes` is set)."""
        if self._n == 0 or k <= 0:
            return []
        positions, scores = self._candidates(query, probes)
        scores = np.where(self._admit(positions, filt), scores, -np.inf)
        k = min(k, int(np.isfinite(scores).sum()))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[positions[i]], float(scores[i])) for i in top]  # type: ignore[misc]

    def nearest(self, queries: np.ndarray) -> list[tuple[str, float] | None]:
        """Best live row for each query row (for near-duplicate checks)."""
        if len(self._row) == 0:
            return [None] * len(queries)
        scores = queries @ self._vecs[: self._n].T
        scores[:, ~self._alive[: self._n]] = -np.inf
        best = np.argmax(scores, axis=1)
        return [(self._ids[j], float(scores[i, j])) for i, j in enumerate(best)]  # type: ignore[misc]

    def ids(self) -> Sequence[str]:
        return list(self._row)
