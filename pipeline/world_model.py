"""World-model reconciliation: how a newly extracted fact relates to the facts already believed.

Nothing is overwritten. A new fact is either new, a restatement of an active fact (which then
gains a source and confidence), or in conflict with one; in a conflict the later fact wins and
the earlier is closed (status `superseded`, `valid_to` set, a `supersedes` link from the winner).
The functions only decide; the caller stores the decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from pipeline.world_facts.fact import PREDICATES, WorldFact

MAX_CONFIDENCE = 0.99


class Action(StrEnum):
    NEW = "new"  # store it active
    DUPLICATE = "duplicate"  # the same belief restated: update the existing fact instead
    SUPERSEDES = "supersedes"  # store it active and close the facts it contradicts
    HISTORICAL = "historical"  # an older statement that a stored fact already replaced


@dataclass(frozen=True)
class StoredFact:
    """A fact with its memory id (the caller assigns ids to new facts before deciding)."""

    id: str
    fact: WorldFact


@dataclass(frozen=True)
class Closure:
    """Close a stored fact: status `superseded`, `valid_to` = `at`, linked from `by`."""

    fact_id: str
    at: int
    by: str


@dataclass(frozen=True)
class FactDecision:
    """What to do with one new fact.

    - NEW: store `fact` active.
    - DUPLICATE: do not store a new record; replace stored fact `target` by `fact` (merged
      sources, raised confidence) as a new version of the same memory.
    - SUPERSEDES: store `fact` active with a `supersedes` link to each closed fact; apply `closes`.
    - HISTORICAL: store `fact` already superseded (its `valid_to` is set) with a `supersedes`
      link from `target`, the stored fact that replaced it.
    """

    action: Action
    fact_id: str
    fact: WorldFact
    target: str | None = None
    closes: tuple[Closure, ...] = ()

    @property
    def stores_new_record(self) -> bool:
        return self.action is not Action.DUPLICATE


def conflicts(new: WorldFact, old: WorldFact) -> bool:
    """True when both cannot hold at once.

    - the same object with the opposite polarity ("likes X" / "does not like X");
    - opposite predicates with the same object and polarity ("likes X" / "dislikes X");
    - a single-valued predicate with a different object, both positive ("lives in A" / "lives in B").
    """
    if new.subject.casefold() != old.subject.casefold() or new.relation != old.relation:
        return False
    same_object = new.object_key == old.object_key
    if new.predicate == old.predicate:
        if same_object:
            return new.polarity != old.polarity
        return new.single_valued and new.polarity and old.polarity
    opposite = PREDICATES[new.predicate].opposite
    return opposite == old.predicate and same_object and new.polarity == old.polarity


def restates(new: WorldFact, old: WorldFact) -> bool:
    return new.key == old.key and new.object_key == old.object_key and new.polarity == old.polarity


def merge_confidence(a: float, b: float) -> float:
    """Two independent statements of one fact: noisy-or, capped below certainty."""
    return round(min(1 - (1 - a) * (1 - b), MAX_CONFIDENCE), 2)


def merge_restatement(old: WorldFact, new: WorldFact) -> WorldFact:
    sources = tuple(sorted(set(old.source_ids) | set(new.source_ids)))
    return replace(
        old,
        confidence=merge_confidence(old.confidence, new.confidence),
        source_ids=sources,
        valid_from=min(old.valid_from, new.valid_from),
    )


def decide(new: StoredFact, active: Sequence[StoredFact]) -> FactDecision:
    """Decide one new fact against the active facts (any subject; others are ignored)."""
    fact = new.fact
    for stored in _by_key_then_time(active):
        if restates(fact, stored.fact):
            return FactDecision(Action.DUPLICATE, new.id, merge_restatement(stored.fact, fact), stored.id)
    conflicting = [s for s in _by_key_then_time(active) if conflicts(fact, s.fact)]
    if not conflicting:
        return FactDecision(Action.NEW, new.id, fact)
    later = [s for s in conflicting if s.fact.valid_from > fact.valid_from]
    if later:
        # Said before something that already replaced it (a replay or a late import).
        first = min(later, key=lambda s: (s.fact.valid_from, s.id))
        return FactDecision(Action.HISTORICAL, new.id, replace(fact, valid_to=first.fact.valid_from), first.id)
    closes = tuple(Closure(s.id, fact.valid_from, new.id) for s in conflicting)
    return FactDecision(Action.SUPERSEDES, new.id, fact, closes=closes)


def reconcile(
    new_facts: Sequence[StoredFact], active: Sequence[StoredFact]
) -> tuple[list[FactDecision], list[StoredFact]]:
    """Decide a batch in order, each decision seeing the ones before it.

    Returns the decisions (one per new fact, same order) and the active set after them, so the
    caller can keep its view of the world model current without re-reading it.
    """
    current = {s.id: s for s in active}
    decisions: list[FactDecision] = []
    for new in new_facts:
        decision = decide(new, list(current.values()))
        decisions.append(decision)
        if decision.action is Action.DUPLICATE:
            assert decision.target is not None
            current[decision.target] = StoredFact(decision.target, decision.fact)
        elif decision.action in (Action.NEW, Action.SUPERSEDES):
            for closure in decision.closes:
                current.pop(closure.fact_id, None)
            current[new.id] = StoredFact(new.id, decision.fact)
    return decisions, sorted(current.values(), key=lambda s: s.id)


def correct(old: StoredFact, correction: StoredFact) -> FactDecision:
    """Feedback `wrong` with a correction: the correction supersedes the old fact, whatever the
    predicates, from the correction's time."""
    at = correction.fact.valid_from
    return FactDecision(Action.SUPERSEDES, correction.id, correction.fact,
                        closes=(Closure(old.id, at, correction.id),))


def close(stored: StoredFact, at: int) -> WorldFact:
    """Feedback `outdated`: the fact stops being valid at `at` (it stays readable as history)."""
    return replace(stored.fact, valid_to=max(at, stored.fact.valid_from))


def _by_key_then_time(facts: Sequence[StoredFact]) -> list[StoredFact]:
    return sorted(facts, key=lambda s: (s.fact.valid_from, s.id))
