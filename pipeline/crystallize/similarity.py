"""How alike two episodes are (task text or vector, tool sequence), and how well one fits a skill."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize.skill import Skill
from pipeline.episodes import Episode, Outcome

TASK_WORD = re.compile(r"[a-z][a-z0-9_'-]*")
_STOPWORDS = frozenset(
    "a an the to of for in on at by with and or from into via as is are be it this that its our "
    "my your please using use then new".split()
)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def sequence_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """2·LCS / (|a| + |b|): 1 for the same tool sequence, lower for each call added or missing."""
    if not a and not b:
        return 1.0
    return 2 * lcs_length(a, b) / (len(a) + len(b))


def task_words(text: str) -> frozenset[str]:
    """Content words of a task; words with digits are dropped (versions, ids, counts vary)."""
    return frozenset(w for w in TASK_WORD.findall(text.casefold()) if w not in _STOPWORDS and not any(
        ch.isdigit() for ch in w))


def word_overlap(a: str, b: str) -> float:
    wa, wb = task_words(a), task_words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))


def same_kind_of_task(a: Episode, b: Episode, config: CrystallizeConfig) -> bool:
    if a.task_vector is not None and b.task_vector is not None:
        return _cosine(a.task_vector, b.task_vector) >= config.task_cosine
    return word_overlap(a.task, b.task) >= config.task_overlap


def episode_fits_skill(episode: Episode, skill: Skill, config: CrystallizeConfig) -> float | None:
    """How well an episode fits a skill (higher is better), or None when it does not."""
    if episode.task_vector is not None and skill.task_centroid is not None:
        task = _cosine(episode.task_vector, np.asarray(skill.task_centroid))
        task_ok = task >= config.task_cosine
    else:
        task = max((word_overlap(episode.task, t) for t in skill.example_tasks), default=0.0)
        task_ok = task >= config.task_overlap
    if not task_ok or not episode.tool_names:
        return None
    if episode.outcome is Outcome.FAILURE:
        # A failed run often stops early: enough that what it did is part of the skill's steps.
        fit = lcs_length(episode.tool_names, skill.signature) / len(episode.tool_names)
        return task + fit if fit >= config.failure_coverage else None
    seq = sequence_similarity(episode.tool_names, skill.signature)
    return task + seq if seq >= config.sequence_similarity else None
