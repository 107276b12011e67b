"""Run statistics of a shared skill: each member reports its own counts, the team's are their sum.

A member's report is cumulative (everything it has run), so a newer report replaces that member's
older one and never lowers it; reports from different members are never merged into one another.
A pulled skill starts from the team's totals, recorded as its baseline, so what a member reports
later is only what it ran itself (its runs minus the baseline), and nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RunCounts:
    runs: int
    successes: int

    def to_dict(self) -> dict[str, int]:
        return {"runs": self.runs, "successes": self.successes}


def own_counts(runs: int, successes: int, baseline: Mapping[str, int] | None) -> RunCounts:
    """What this server ran itself: its counts minus the team totals it pulled with the skill."""
    base = baseline or {}
    return RunCounts(max(0, runs - int(base.get("runs", 0))), max(0, successes - int(base.get("successes", 0))))


def newer_report(old: RunCounts | None, new: RunCounts) -> RunCounts:
    """A member's counts only grow: an older, smaller report arriving late changes nothing."""
    if old is None:
        return new
    return RunCounts(max(old.runs, new.runs), max(old.successes, new.successes))


def team_totals(per_member: Iterable[RunCounts]) -> RunCounts:
    runs = successes = 0
    for counts in per_member:
        runs += counts.runs
        successes += counts.successes
    return RunCounts(runs, successes)


def success_rate(counts: RunCounts) -> float:
    return round(counts.successes / counts.runs, 4) if counts.runs else 0.0
