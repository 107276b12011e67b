"""What a search's ranking is tuned by: the channels, the fusion and the boosts after it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

CHANNELS = ("bm25", "vector")
FUSIONS = ("rrf", "relative")


@dataclass(frozen=True)
class RankingConfig:
    """Which channels feed the ranking, how they are fused, and which boosts apply afterwards.

    These defaults are round one's ranking with every later step off, what the pure tests count
    on; the server's defaults, tuned on LoCoMo (docs/retrieval.md), come from settings
    (configs/defaults.toml).
    """

    channels: tuple[str, ...] = CHANNELS
    rrf_k: int = 10
    bm25_weight: float = 1.0
    vector_weight: float = 0.3
    context: bool = True  # BM25 also matches a memory's neighbouring turns (pipeline.context)
    content_boost: float = 0.45  # with context: weight of the memory's own words against its context's
    recency_half_life_days: float | None = None  # None: no recency boost
    mmr_lambda: float | None = None  # None: no diversity re-ranking
    fusion: str = "rrf"  # rrf: by ranks; relative: by scores scaled to [0, 1] within each list
    time_weight: float = 0.0  # a memory written in a month the query names scores x(1 + this) (query_time.py)
    session_share: float = 0.0  # a candidate gains this share of its session's best other score (sessions.py)
    speaker_weight: float = 0.0  # a memory by or about a person the query names scores x(1 + this) (query_names.py)
    strip_speakers: bool = False  # the searched text leaves out speakers of the cubes the query names (query_names.py)
    # Long queries (pipeline/query_segments.py): cut past this many words (or at line breaks) into
    # segments searched one by one and fused, each older segment `segment_decay` times the next; 0: never.
    segment_words: int = 0
    segment_decay: float = 0.3

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
        if self.session_share < 0 or self.time_weight < 0 or self.speaker_weight < 0:
            raise ValueError("session_share, time_weight and speaker_weight must be >= 0")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.segment_words < 0 or not 0 <= self.segment_decay <= 1:
            raise ValueError("segment_words must be >= 0 and segment_decay within [0, 1]")

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
