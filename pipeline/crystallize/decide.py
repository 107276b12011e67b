"""Which new skills and new versions a batch of closed episodes gives rise to: `crystallize()`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize.grouping import group_episodes
from pipeline.crystallize.similarity import episode_fits_skill
from pipeline.crystallize.skill import Skill
from pipeline.crystallize.versions import build_skill, update_skill
from pipeline.episodes import Episode, Outcome


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"


@dataclass(frozen=True)
class SkillChange:
    """A skill to store: a new skill (version 1) or a new version of an existing one."""

    kind: ChangeKind
    skill: Skill
    episode_ids: tuple[str, ...]  # the episodes that caused it


def crystallize(
    episodes: Sequence[Episode], skills: Sequence[Skill] = (), config: CrystallizeConfig | None = None
) -> list[SkillChange]:
    """New skills and new versions that `episodes` (closed, in any order) give rise to.

    Episodes already counted by a skill are skipped, so passing the same episodes again yields
    no change. Each remaining episode with a known outcome joins the best-fitting existing
    skill; the rest are grouped, and a group with `min_support` successes becomes a new skill.
    Failed episodes that fit a new group count as its failed runs.
    """
    config = config or CrystallizeConfig()
    counted = frozenset().union(*(s.evidence for s in skills)) if skills else frozenset()
    pending = sorted(
        (e for e in episodes if e.id not in counted and e.outcome is not Outcome.UNKNOWN and e.tool_calls),
        key=lambda e: (e.closed_at, e.id),
    )
    by_skill: dict[str, list[Episode]] = {}
    loose: list[Episode] = []
    ordered_skills = sorted(skills, key=lambda s: s.id)
    for episode in pending:
        fits = [(fit, s.id) for s in ordered_skills if (fit := episode_fits_skill(episode, s, config)) is not None]
        if fits:
            best = max(fits, key=lambda f: (f[0], f[1]))[1]
            by_skill.setdefault(best, []).append(episode)
        else:
            loose.append(episode)
    changes: list[SkillChange] = []
    for skill in ordered_skills:
        if skill.id in by_skill:
            updated = update_skill(skill, by_skill[skill.id])
            if updated is not None:
                changes.append(SkillChange(ChangeKind.UPDATED, updated,
                                           tuple(sorted(e.id for e in by_skill[skill.id]))))
    for group in group_episodes(loose, config):
        successes = [e for e in group if e.outcome is Outcome.SUCCESS]
        if len(successes) >= config.min_support:
            skill = build_skill(group)
            changes.append(SkillChange(ChangeKind.CREATED, skill, tuple(sorted(e.id for e in group))))
    return changes
