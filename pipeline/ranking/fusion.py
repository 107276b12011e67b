"""Rank fusion of the BM25 and vector candidate lists (weighted reciprocal rank fusion)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from pipeline.ranking.config import RankingConfig


@dataclass
class Fused:
    key: Hashable
    score: float = 0.0
    bm25: float | None = None
    bm25_rank: int | None = None
    vector: float | None = None
    vector_rank: int | None = None


def reciprocal_rank_fusion(
    bm25: Sequence[tuple[Hashable, float]],
    vector: Sequence[tuple[Hashable, float]],
    k: int = 60,
    weights: tuple[float, float] = (1.0, 1.0),
) -> list[Fused]:
    """score = sum over lists of weight / (k + rank), rank counted from 1; best first.

    Ties keep the order of first appearance (BM25 list first), so results are deterministic.
    """
    fused: dict[Hashable, Fused] = {}
    for rank, (key, score) in enumerate(bm25, start=1):
        item = fused.setdefault(key, Fused(key))
        item.bm25, item.bm25_rank = score, rank
        item.score += weights[0] / (k + rank)
    for rank, (key, score) in enumerate(vector, start=1):
        item = fused.setdefault(key, Fused(key))
        item.vector, item.vector_rank = score, rank
        item.score += weights[1] / (k + rank)
    return sorted(fused.values(), key=lambda f: -f.score)


def fuse(
    bm25: Sequence[tuple[Hashable, float]],
    vector: Sequence[tuple[Hashable, float]],
    config: RankingConfig,
) -> list[Fused]:
    """The channels `config` turns on, fused with its k and weights; best first."""
    return reciprocal_rank_fusion(
        bm25 if "bm25" in config.channels else [],
        vector if "vector" in config.channels else [],
        k=config.rrf_k,
        weights=(config.bm25_weight, config.vector_weight),
    )
