"""Which memories answer the predicted queries, and when a prepared pool provably answers a search (pure).

A pool is one cube's memories held ready: their vectors, and (in service/prefetch.py) their records.
A cube small enough is held whole, and then answers every search exactly. A larger one holds the
nearest memories of each predicted query (its anchors); for each anchor it keeps the cosine of the
best memory it left out (its floor). A search then hits the pool only when the pool provably holds
the search's exact top k by cosine: the angle between two unit vectors is a metric, so a memory x
left out, with cos(x, a) <= floor, is at an angle of at least arccos(floor) - angle(q, a) from the
query q; when the pool's own k-th best for q scores at least the cosine of that angle (the smallest
over the anchors), nothing outside can enter the top k. A hit therefore answers exactly what the full
vector search over the cube would, never worse; anything else is a miss and takes the full path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NO_FLOOR = -1.0  # an anchor that left nothing out


@dataclass(frozen=True)
class Pool:
    ids: list[str]
    vectors: np.ndarray  # (len(ids), dim) float32, unit length, the stored vectors
    anchors: np.ndarray  # (m, dim) the predicted queries' vectors
    floors: np.ndarray  # (m,) for each anchor, the best cosine of a memory outside the pool
    whole: bool  # every active memory of the cube is in the pool


def choose(vectors: np.ndarray, anchors: np.ndarray, per_anchor: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows to keep (the `per_anchor` nearest of each anchor) and each anchor's floor, over all of a cube's vectors."""
    n = len(vectors)
    if n == 0 or len(anchors) == 0:
        return np.arange(0), np.full(len(anchors), NO_FLOOR, dtype=np.float32)
    scores = anchors @ vectors.T  # (m, n)
    keep = np.zeros(n, dtype=bool)
    for row in scores:
        k = min(per_anchor, n)
        keep[np.argpartition(-row, k - 1)[:k]] = True
    floors = np.array([row[~keep].max() if (~keep).any() else NO_FLOOR for row in scores], dtype=np.float32)
    return np.flatnonzero(keep), floors


def outside_bound(query: np.ndarray, anchors: np.ndarray, floors: np.ndarray) -> float:
    """The highest cosine any memory outside the pool can have with `query` (1.0: no bound)."""
    if len(anchors) == 0:
        return 1.0
    to_anchor = np.arccos(np.clip(anchors @ query, -1.0, 1.0))
    beyond = np.arccos(np.clip(floors, -1.0, 1.0))
    gap = np.clip(beyond - to_anchor, 0.0, math.pi)
    return float(np.cos(gap).min())


def certified_top(pool: Pool, query: np.ndarray, k: int) -> list[tuple[str, float]] | None:
    """The cube's exact top k by cosine when the pool provably holds it, best first; else None."""
    if k <= 0:
        return []
    scores = pool.vectors @ query if len(pool.ids) else np.zeros(0, dtype=np.float32)
    kk = min(k, len(scores))
    if kk == 0:
        return [] if pool.whole else None
    top = np.argpartition(-scores, kk - 1)[:kk]
    top = top[np.argsort(-scores[top], kind="stable")]
    if not pool.whole:
        # A hair of slack for float32 rounding: a tie at the bound must not pass as proof.
        if kk < k or float(scores[top[-1]]) < outside_bound(query, pool.anchors, pool.floors) + 1e-5:
            return None
    return [(pool.ids[i], float(scores[i])) for i in top]
