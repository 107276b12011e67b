"""What a write does to a cube beyond storing a row, decided from the row and what the cube holds.

These are the policies the cube writer applies and never makes itself: how a world fact is
reconciled with the believed ones, what a feedback signal does, and how a row dedupe believed
stored is treated. The writer calls `WritePolicy` inside its transaction, per row, so each
decision sees every earlier row of the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from pipeline.records import Dedupe, Kind, MemoryRecord, Op, Status, Tier
from pipeline.world_facts.fact import WorldFact
from pipeline.world_model import FactDecision, StoredFact, correct, decide

# Derived rows ride with the intake entry that caused them and report nothing themselves.
_DERIVED_OPS = (Op.FACT.value, Op.SKILL.value)


class CubeView(Protocol):
    """The reads a decision needs, answered inside the writer's transaction."""

    def get(self, memory_id: str) -> MemoryRecord | None: ...

    def active_facts(self, subject: str) -> list[StoredFact]: ...

    def stored_fact(self, memory_id: str) -> StoredFact | None: ...


@dataclass(frozen=True)
class FeedbackEffect:
    """What one new feedback event does to its memory."""

    closes_fact: bool  # the world fact stops holding (status superseded, valid_to set)
    score_delta: int  # added to the memory's net feedback, which search boosts by


def is_derived(row: dict[str, Any]) -> bool:
    return row["op"] in _DERIVED_OPS or (row["op"] == Op.ADD and row.get("kind") == Kind.SUMMARY)


def fact_decision(row: dict[str, Any], view: CubeView) -> FactDecision:
    """A derived fact row against the cube's world model: a correction supersedes what it corrects."""
    attrs = orjson.loads(row["attrs"])
    new = StoredFact(row["id"], WorldFact.from_dict(attrs["fact"]))
    old = view.stored_fact(attrs["corrects"]) if attrs.get("corrects") else None
    return correct(old, new) if old is not None else decide(new, view.active_facts(new.fact.subject))


def feedback_effect(signal: str, target_tier: str, has_correction: bool) -> FeedbackEffect:
    """`outdated` (or `wrong` with nothing to replace it) closes a fact; a fact is not down-ranked
    for being outdated, any other memory is for every signal but `useful`."""
    is_fact = target_tier == Tier.WORLD
    closes = is_fact and (signal == "outdated" or (signal == "wrong" and not has_correction))
    delta = {"useful": 1, "not_useful": -1}.get(signal, 0 if is_fact else -1)
    return FeedbackEffect(closes, delta)


def status_to_store(row: dict[str, Any]) -> str:
    """Dedupe remembered an id whose write never landed (the writer died): the file is the truth,
    so the row is stored active rather than lost."""
    return Status.ACTIVE.value if row["dedupe"] == Dedupe.EXISTS else row["status"]


class WritePolicy:
    """The decisions above, handed to the cube writer by whoever owns it."""

    fact = staticmethod(fact_decision)
    feedback = staticmethod(feedback_effect)
    add_status = staticmethod(status_to_store)
    derived = staticmethod(is_derived)
