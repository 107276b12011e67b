"""A cube's vectors held in memory for exact search in a few milliseconds (numpy, no copies per query).

Rows are overwritten in place on update and tombstoned on delete; the matrix is compacted when a
quarter of it is dead. The attributes kept beside each row let filters apply without a store read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from pipeline.filters import SearchFilter


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

    def __len__(self) -> int:
        return len(self._row)

    @property
    def nbytes(self) -> int:
        return int(self._vecs.nbytes + self._created.nbytes + self._alive.nbytes)

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

    def upsert(self, rows: Iterable[dict[str, Any]]) -> None:
        """Rows need id and vector; kind, tier, tags and created_at feed the filters."""
        rows = [r for r in rows if r.get("vector") is not None]
        self._grow(self._n + len(rows))
        for r in rows:
            i = self._row.get(r["id"])
            if i is None:
                i = self._n
                self._n += 1
                self._ids.append(r["id"])
                self._kinds.append(r.get("kind", ""))
                self._tiers.append(r.get("tier", ""))
                self._tags.append(frozenset(r.get("tags") or ()))
                self._row[r["id"]] = i
            else:
                self._kinds[i] = r.get("kind", "")
                self._tiers[i] = r.get("tier", "")
                self._tags[i] = frozenset(r.get("tags") or ())
            self._vecs[i] = r["vector"]
            self._alive[i] = True
            self._created[i] = int(r.get("created_at") or 0)

    def remove(self, ids: Iterable[str]) -> None:
        for memory_id in ids:
            i = self._row.pop(memory_id, None)
            if i is not None:
                self._alive[i] = False
                self._ids[i] = None
        if self._n > 1024 and len(self._row) < 0.75 * self._n:
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: self._n])
        self._vecs = self._vecs[keep].copy()
        self._alive = np.ones(len(keep), dtype=bool)
        self._created = self._created[keep].copy()
        self._ids = [self._ids[i] for i in keep]
        self._kinds = [self._kinds[i] for i in keep]
        self._tiers = [self._tiers[i] for i in keep]
        self._tags = [self._tags[i] for i in keep]
        self._n = len(keep)
        self._row = {memory_id: i for i, memory_id in enumerate(self._ids)}

    def _mask(self, filt: SearchFilter | None) -> np.ndarray:
        mask = self._alive[: self._n].copy()
        if filt is None or filt.empty:
            return mask
        if filt.since is not None:
            mask &= self._created[: self._n] >= filt.since
        if filt.until is not None:
            mask &= self._created[: self._n] < filt.until
        if filt.kinds or filt.tiers or filt.tags:
            for i in np.flatnonzero(mask):
                if not filt.admits(self._kinds[i], self._tiers[i], self._tags[i], int(self._created[i])):
                    mask[i] = False
        return mask

    def search(self, query: np.ndarray, k: int, filt: SearchFilter | None = None) -> list[tuple[str, float]]:
        """The k rows of highest cosine similarity to a unit-length query."""
        if self._n == 0 or k <= 0:
            return []
        scores = self._vecs[: self._n] @ query
        mask = self._mask(filt)
        scores = np.where(mask, scores, -np.inf)
        k = min(k, int(mask.sum()))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[i], float(scores[i])) for i in top]  # type: ignore[misc]

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
