"""Diversity re-ranking by maximal marginal relevance (when `mmr_lambda` is set)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pipeline.ranking.boosts import Key


def mmr_order(relevance: Sequence[float], vectors: np.ndarray, lam: float, n: int) -> list[int]:
    """Maximal marginal relevance: indices picked greedily by lam*relevance - (1-lam)*max similarity
    to what is already picked. Relevance is scaled to [0, 1] first so lam means the same at any score."""
    if not len(relevance):
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    rel = rel / rel.max() if rel.max() > 0 else rel
    sims = vectors @ vectors.T
    picked: list[int] = []
    best_sim = np.full(len(rel), -np.inf)
    left = np.ones(len(rel), dtype=bool)
    for _ in range(min(n, len(rel))):
        penalty = np.where(np.isinf(best_sim), 0.0, best_sim)
        score = np.where(left, lam * rel - (1 - lam) * penalty, -np.inf)
        i = int(np.argmax(score))
        picked.append(i)
        left[i] = False
        best_sim = np.maximum(best_sim, sims[i])
    return picked


def diversify(
    results: list[dict[str, Any]], vectors: Mapping[Key, np.ndarray], lam: float, n: int
) -> list[dict[str, Any]]:
    """The n results MMR picks among those with vectors, each marked with its `why.mmr_rank`; the
    results without a vector keep their order after them."""
    with_vec = [r for r in results if (r["cube"], r["id"]) in vectors]
    rest = [r for r in results if (r["cube"], r["id"]) not in vectors]
    if not with_vec:
        return results
    matrix = np.stack([vectors[(r["cube"], r["id"])] for r in with_vec])
    order = mmr_order([r["score"] for r in with_vec], matrix, lam, n)
    picked = [with_vec[i] for i in order]
    for position, result in enumerate(picked, start=1):
        result["why"]["mmr_rank"] = position
    return picked + rest
