"""Near duplicates fold into the result they repeat, so one thing said twice takes one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.ranking.boosts import Boosted, Key


@dataclass
class Folded:
    """A candidate that takes a place, and the ids of the near duplicates folded into it, best first."""

    head: Boosted
    near_duplicates: list[str] = field(default_factory=list)


def fold_near_duplicates(ranked: Sequence[Boosted], duplicate_of: Mapping[Key, Key], keep: int) -> list[Folded]:
    """The first `keep` candidates in rank order, each with the near duplicates that repeat it.

    A candidate folds only into an original shown above it, also once `keep` are taken; one whose
    original ranks below it or is not shown stands on its own (a duplicate of a folded duplicate too).
    `duplicate_of` maps a near duplicate to its original; empty, nothing folds (`collapse: false`).
    """
    shown: dict[Key, Folded] = {}
    out: list[Folded] = []
    for candidate in ranked:
        original = duplicate_of.get(candidate.key)
        into = shown.get(original) if original is not None else None
        if into is not None:
            into.near_duplicates.append(candidate.key[1])
            continue
        if len(out) == keep:
            continue  # still folding near duplicates into what is shown
        shown[candidate.key] = folded = Folded(candidate)
        out.append(folded)
    return out
