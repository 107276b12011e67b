"""Ranking: how BM25 and vector candidate lists become one ordered list (pure, tunable)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.fusion import Fused, reciprocal_rank_fusion

CHANNELS = ("bm25", "vector")


@dataclass(frozen=True)
class RankingConfig:
    """Which channels feed the ranking, how they are fused, and which boosts apply afterwards.

    The defaults are the configuration tuned on LoCoMo (docs/retrieval.md); the server's own
    defaults come from settings.
    """

    channels: tuple[str, ...] = CHANNELS
    rrf_k: int = 10
    bm25_weight: float = 1.0
    vector_weight: float = 0.3
    context: bool = True  # BM25 also matches a memory's neighbouring turns (pipeline.context)
    content_boost: float = 0.45  # with context: weight of the memory's own words against its context's
    recency_half_life_days: float | None = None  # None: no recency boost
    mmr_lambda: float | None = None  # None: no diversity re-ranking

    def __post_init__(self) -> None:
        unknown = set(self.channels) - set(CHANNELS)
        if unknown or not self.channels:
            raise ValueError(f"channels must be a non-empty subset of {CHANNELS}, got {self.channels}")
        if self.rrf_k < 1 or self.bm25_weight < 0 or self.vector_weight < 0 or self.content_boost < 0:
            raise ValueError("rrf_k must be >= 1 and weights >= 0")
        if self.recency_half_life_days is not None and self.recency_half_life_days <= 0:
            raise ValueError("recency_half_life_days must be > 0")
        if self.mmr_lambda is not None and not 0 <= self.mmr_lambda <= 1:
            raise ValueError("mmr_lambda must be within [0, 1]")

    @property
    def bm25_content_boost(self) -> float | None:
        """What the lexical index takes: None searches a memory's own words only."""
        return self.content_boost if self.context else None


def rank(
    bm25: Sequence[tuple[Hashable, float]],
    vector: Sequence[tuple[Hashable, float]],
    config: RankingConfig,
) -> list[Fused]:
    return reciprocal_rank_fusion(
        bm25 if "bm25" in config.channels else [],
        vector if "vector" in config.channels else [],
        k=config.rrf_k,
        weights=(config.bm25_weight, config.vector_weight),
    )


RECENCY_WEIGHT = 0.3  # the share of a score that recency can take away: x0.7 (old) to x1.0 (newest)
DAY_MS = 86_400_000


def recency_factor(age_ms: int, half_life_days: float) -> float:
    """Multiplier for a memory `age_ms` older than the newest candidate: halves its recency share each half-life."""
    decay = 0.5 ** (max(0, age_ms) / (half_life_days * DAY_MS))
    return 1.0 - RECENCY_WEIGHT + RECENCY_WEIGHT * decay


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


FEEDBACK_WEIGHT = 0.2  # the most feedback can move a score: x0.8 to x1.2
FEEDBACK_SATURATION = 3  # net signals beyond this add nothing more


def feedback_factor(net_signals: int) -> float:
    """Multiplier for a memory's fused score from its net useful minus not-useful signals."""
    clamped = max(-FEEDBACK_SATURATION, min(FEEDBACK_SATURATION, net_signals))
    return 1.0 + FEEDBACK_WEIGHT * clamped / FEEDBACK_SATURATION
