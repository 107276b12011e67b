"""What a search's ranking is tuned by: the channels, the fusion and the boosts after it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

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


def with_overrides(config: RankingConfig, overrides: Mapping[str, Any]) -> RankingConfig:
    """`config` with the fields a request sets (a request's `ranking`); a channel named twice counts once."""
    if not overrides:
        return config
    fields = dict(overrides)
    if "channels" in fields:
        fields["channels"] = tuple(dict.fromkeys(fields["channels"]))
    return replace(config, **fields)
