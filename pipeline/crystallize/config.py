"""The thresholds by which crystallization groups episodes and promotes a group to a skill."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrystallizeConfig:
    """Thresholds of grouping; see docs/tiers.md for how they were chosen."""

    min_support: int = 3  # successful episodes a group needs to become a skill
    task_cosine: float = 0.35  # task-vector cosine for "the same kind of task"
    task_overlap: float = 0.3  # word Jaccard, when either episode has no task vector
    sequence_similarity: float = 0.75  # 2·LCS / (|a| + |b|) over tool names
    failure_coverage: float = 0.6  # share of a failed run's calls found, in order, in the skill

    def __post_init__(self) -> None:
        if self.min_support < 1:
            raise ValueError("min_support must be at least 1")
        for name in ("task_cosine", "task_overlap", "sequence_similarity", "failure_coverage"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
