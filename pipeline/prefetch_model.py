"""Which cubes will be searched next: decayed activity per cube, with writes predicting reads (pure).

Agents write what happens and soon ask about it, so a write to a cube predicts a search of it;
a cube searched recently will likely be searched again; and an agent at work tends to search
every cube it has searched before (its mounts) together. Scores decay with a half-life.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WEIGHTS = {"search": 1.0, "write": 0.8}


@dataclass
class ActivityModel:
    half_life_s: float = 600.0
    scores: dict[str, float] = field(default_factory=dict)  # cube -> decayed score
    stamp: dict[str, float] = field(default_factory=dict)  # cube -> time of its score
    co_access: dict[str, set[str]] = field(default_factory=dict)  # agent -> cubes it searched

    def _decayed(self, cube: str, now: float) -> float:
        if cube not in self.scores:
            return 0.0
        return self.scores[cube] * math.exp(-math.log(2) * (now - self.stamp[cube]) / self.half_life_s)

    def observe(self, agent: str, cubes: list[str], kind: str, at: float) -> None:
        weight = WEIGHTS.get(kind, 0.5)
        related = set(cubes)
        if kind == "search":
            self.co_access.setdefault(agent, set()).update(cubes)
        else:
            # Activity in one cube wakes the agent's usual set: it will search them together.
            related |= self.co_access.get(agent, set())
        for cube in related:
            bonus = weight if cube in cubes else weight / 2
            self.scores[cube] = self._decayed(cube, at) + bonus
            self.stamp[cube] = at

    def predict(self, now: float, top: int, min_score: float = 0.3,
                exclude: frozenset[str] = frozenset()) -> list[str]:
        """The `top` likeliest cubes outside `exclude` (those already warm): busy warm cubes must not
        crowd a newly active one out of the plan."""
        ranked = sorted(((self._decayed(c, now), c) for c in self.scores if c not in exclude), reverse=True)
        return [c for score, c in ranked[:top] if score >= min_score]

    def forget_below(self, now: float, floor: float = 0.01) -> None:
        for cube in [c for c in self.scores if self._decayed(c, now) < floor]:
            self.scores.pop(cube)
            self.stamp.pop(cube)
