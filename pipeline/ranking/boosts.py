"""Multipliers on a fused score (feedback always; recency, a month the query names and a person it
names when configured), and the candidates that take part at all: those still active in their cube."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.query_names import person_of
from pipeline.query_time import Span, time_factor
from pipeline.ranking.config import RankingConfig
from pipeline.ranking.fusion import Fused
from pipeline.records import MemoryRecord, Status

Key = tuple[str, str]  # (cube id, memory id): a memory id is only unique within its cube

FEEDBACK_WEIGHT = 0.2  # the most feedback can move a score: x0.8 to x1.2
FEEDBACK_SATURATION = 3  # net signals beyond this add nothing more
RECENCY_WEIGHT = 0.3  # the share of a score that recency can take away: x0.7 (old) to x1.0 (newest)
DAY_MS = 86_400_000


def feedback_factor(net_signals: int) -> float:
    """Multiplier for a memory's fused score from its net useful minus not-useful signals."""
    clamped = max(-FEEDBACK_SATURATION, min(FEEDBACK_SATURATION, net_signals))
    return 1.0 + FEEDBACK_WEIGHT * clamped / FEEDBACK_SATURATION


def recency_factor(age_ms: int, half_life_days: float) -> float:
    """Multiplier for a memory `age_ms` older than the newest candidate: halves its recency share each half-life."""
    decay = 0.5 ** (max(0, age_ms) / (half_life_days * DAY_MS))
    return 1.0 - RECENCY_WEIGHT + RECENCY_WEIGHT * decay


NamesPerson = Callable[[str], bool]  # whether the query names this person (pipeline/query_names.py NamedIn)


def boosts_of(record: MemoryRecord, newest: int, config: RankingConfig, named: Sequence[Span] = (),
              names: NamesPerson | None = None) -> dict[str, float]:
    """A memory's multipliers by name; recency counts its age against the newest candidate, so an
    old archive is not penalised for being old, only against itself; `time` when the query names a
    month the memory was written in (pipeline/query_time.py); `speaker` when it names the person the
    memory is by or about (pipeline/query_names.py)."""
    out = {"feedback": feedback_factor(record.feedback)}
    if config.recency_half_life_days is not None:
        out["recency"] = recency_factor(newest - record.created_at, config.recency_half_life_days)
    if named and config.time_weight > 0:
        out["time"] = time_factor(record.created_at, list(named), config.time_weight)
    if names is not None and config.speaker_weight > 0 and (person := person_of(record)) and names(person):
        out["speaker"] = 1.0 + config.speaker_weight
    return out


@dataclass(frozen=True)
class Boosted:
    """A live candidate, its record and its boosts; `score` is what ranks it from here on."""

    fused: Fused
    record: MemoryRecord
    boosts: dict[str, float]
    factor: float  # the product of the boosts

    @property
    def key(self) -> Key:
        return self.fused.key  # type: ignore[return-value]

    @property
    def score(self) -> float:
        return self.fused.score * self.factor


def boost(fused: Sequence[Fused], records: Mapping[Key, MemoryRecord], config: RankingConfig,
          named: Sequence[Span] = (), names: NamesPerson | None = None) -> list[Boosted]:
    """The candidates whose record is found and active (deleted, duplicate and superseded rows drop
    out here), boosted, best first; equal scores keep their fused order."""
    live = [(f, rec) for f in fused if (rec := records.get(f.key)) is not None and rec.status == Status.ACTIVE]  # type: ignore[call-overload]
    newest = max((rec.created_at for _, rec in live), default=0)
    boosted = []
    for f, rec in live:
        boosts = boosts_of(rec, newest, config, named, names)
        boosted.append(Boosted(f, rec, boosts, math.prod(boosts.values())))
    return sorted(boosted, key=lambda b: -b.score)
