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


Weighted = Sequence[tuple[Sequence[tuple[Hashable, float]], float]]  # (a candidate list, its weight)


def fuse_segments(bm25: Weighted, vector: Weighted, config: RankingConfig) -> list[Fused]:
    """A segmented query's lists (pipeline/query_segments.py): each segment's BM25 and vector list
    counts weight x its channel weight / (k + rank). A memory's `bm25`/`vector` (and ranks) in `why`
    are those of its best-ranked segment. One list per channel is exactly `fuse`."""
    fused: dict[Hashable, Fused] = {}
    channels = (("bm25", bm25, config.bm25_weight), ("vector", vector, config.vector_weight))
    for name, lists, channel_weight in channels:
        if name not in config.channels:
            continue
        for ranked, weight in lists:
            share = _shares(ranked, config)
            for rank, (key, score) in enumerate(ranked, start=1):
                item = fused.setdefault(key, Fused(key))
                item.score += channel_weight * weight * share(rank, score)
                best = item.bm25_rank if name == "bm25" else item.vector_rank
                if best is None or rank < best:
                    if name == "bm25":
                        item.bm25, item.bm25_rank = score, rank
                    else:
                        item.vector, item.vector_rank = score, rank
    return sorted(fused.values(), key=lambda f: -f.score)


def _shares(ranked: Sequence[tuple[Hashable, float]], config: RankingConfig):  # noqa: ANN202
    """What a list gives its entry at (rank, score): 1 / (k + rank) for `rrf`; for `relative`, the
    score scaled to [0, 1] between the list's worst and best (so score gaps count, not only order)."""
    if config.fusion == "rrf" or not ranked:
        return lambda rank, score: 1.0 / (config.rrf_k + rank)
    top, low = ranked[0][1], ranked[-1][1]
    span = top - low
    return lambda rank, score: (score - low) / span if span > 0 else 1.0
