"""Ranking: how BM25 and vector candidate lists become one ordered list (pure, tunable)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from pipeline.fusion import Fused, reciprocal_rank_fusion

CHANNELS = ("bm25", "vector")


@dataclass(frozen=True)
class RankingConfig:
    """Which channels feed the ranking and how they are fused."""

    channels: tuple[str, ...] = CHANNELS
    rrf_k: int = 60

    def __post_init__(self) -> None:
        unknown = set(self.channels) - set(CHANNELS)
        if unknown or not self.channels:
            raise ValueError(f"channels must be a non-empty subset of {CHANNELS}, got {self.channels}")


def rank(
    bm25: Sequence[tuple[Hashable, float]],
    vector: Sequence[tuple[Hashable, float]],
    config: RankingConfig,
) -> list[Fused]:
    return reciprocal_rank_fusion(
        bm25 if "bm25" in config.channels else [],
        vector if "vector" in config.channels else [],
        k=config.rrf_k,
    )


FEEDBACK_WEIGHT = 0.2  # the most feedback can move a score: x0.8 to x1.2
FEEDBACK_SATURATION = 3  # net signals beyond this add nothing more


def feedback_factor(net_signals: int) -> float:
    """Multiplier for a memory's fused score from its net useful minus not-useful signals."""
    clamped = max(-FEEDBACK_SATURATION, min(FEEDBACK_SATURATION, net_signals))
    return 1.0 + FEEDBACK_WEIGHT * clamped / FEEDBACK_SATURATION
