"""Episodes into groups of one kind of task done with one tool sequence, and a group's signature."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize.similarity import lcs_length, same_kind_of_task, sequence_similarity
from pipeline.episodes import Episode, Outcome


def group_episodes(episodes: Sequence[Episode], config: CrystallizeConfig) -> list[list[Episode]]:
    """Groups of successful episodes linked by (same kind of task and similar tool sequence),
    transitively; each failed episode joins the group it fits best. Deterministic."""
    successes = sorted((e for e in episodes if e.outcome is Outcome.SUCCESS and e.tool_calls), key=lambda e: e.id)
    parent = list(range(len(successes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(successes):
        for j in range(i + 1, len(successes)):
            b = successes[j]
            if sequence_similarity(a.tool_names, b.tool_names) >= config.sequence_similarity and \
                    same_kind_of_task(a, b, config):
                parent[root(j)] = root(i)
    groups: dict[int, list[Episode]] = {}
    for i, episode in enumerate(successes):
        groups.setdefault(root(i), []).append(episode)
    ordered = sorted(groups.values(), key=lambda g: g[0].id)
    failures = sorted((e for e in episodes if e.outcome is Outcome.FAILURE and e.tool_calls), key=lambda e: e.id)
    for failed in failures:
        best: tuple[float, int] | None = None
        for k, group in enumerate(ordered):
            signature = consensus_signature(group)
            fit = lcs_length(failed.tool_names, signature) / len(failed.tool_names)
            if fit >= config.failure_coverage and any(same_kind_of_task(failed, e, config) for e in group):
                if best is None or fit > best[0]:
                    best = (fit, k)
        if best is not None:
            ordered[best[1]].append(failed)
    return ordered


def consensus_signature(group: Sequence[Episode]) -> tuple[str, ...]:
    """The most common tool sequence among a group's successes (ties: the earliest episode's)."""
    successes = sorted((e for e in group if e.outcome is Outcome.SUCCESS), key=lambda e: e.id)
    counts = Counter(e.tool_names for e in successes)
    top = max(counts.values())
    return next(e.tool_names for e in successes if counts[e.tool_names] == top)
