"""What a write does beyond storing a row: feedback effects, dedupe's 'exists', fact reconciliation (pure)."""

import orjson
import pytest

from pipeline.world_facts.fact import Predicate, WorldFact
from pipeline.world_model import Action, StoredFact
from pipeline.write_decisions import FeedbackEffect, fact_decision, feedback_effect, is_derived, status_to_store


@pytest.mark.parametrize(("signal", "tier", "correction", "effect"), [
    ("useful", "trace", False, FeedbackEffect(False, 1)),
    ("not_useful", "trace", False, FeedbackEffect(False, -1)),
    ("wrong", "trace", False, FeedbackEffect(False, -1)),
    ("outdated", "trace", False, FeedbackEffect(False, -1)),
    ("useful", "world", False, FeedbackEffect(False, 1)),
    ("outdated", "world", False, FeedbackEffect(True, 0)),
    ("wrong", "world", False, FeedbackEffect(True, 0)),
    ("wrong", "world", True, FeedbackEffect(False, 0)),  # the correction supersedes it instead
])
def test_feedback_effect_per_signal_and_tier(signal, tier, correction, effect):
    assert feedback_effect(signal, tier, correction) == effect


def test_a_row_dedupe_believed_stored_is_stored_active_when_the_file_lacks_it():
    assert status_to_store({"dedupe": "exists", "status": None}) == "active"
    assert status_to_store({"dedupe": "duplicate", "status": "duplicate"}) == "duplicate"


def test_derived_rows_are_facts_skills_and_summaries():
    assert is_derived({"op": "fact"}) and is_derived({"op": "skill"})
    assert is_derived({"op": "add", "kind": "summary"})
    assert not is_derived({"op": "add", "kind": "note"}) and not is_derived({"op": "feedback"})


class World:
    """A cube view holding a set of active facts."""

    def __init__(self, *facts: StoredFact) -> None:
        self.facts = {f.id: f for f in facts}

    def get(self, memory_id):
        return None

    def active_facts(self, subject):
        return [f for f in self.facts.values() if f.fact.subject.casefold() == subject.casefold()]

    def stored_fact(self, memory_id):
        return self.facts.get(memory_id)


def lives_in(city, at):
    return WorldFact("Alice", Predicate.LIVES_IN, city, True, 0.8, at, ("t",))


def fact_row(fact_id, fact, **attrs):
    return {"id": fact_id, "attrs": orjson.dumps({"fact": fact.to_dict(), **attrs}).decode()}


def test_a_fact_row_is_decided_against_the_active_facts_of_its_subject():
    world = World(StoredFact("f-paris", lives_in("Paris", 1000)))
    decision = fact_decision(fact_row("f-berlin", lives_in("Berlin", 2000)), world)
    assert decision.action is Action.SUPERSEDES
    assert [(c.fact_id, c.at, c.by) for c in decision.closes] == [("f-paris", 2000, "f-berlin")]


def test_a_correction_row_supersedes_the_fact_it_names():
    world = World(StoredFact("f-paris", lives_in("Paris", 1000)))
    fixed = WorldFact("Alice", Predicate.WORKS_AT, "Acme", True, 0.9, 3000, ("t",))
    decision = fact_decision(fact_row("f-fix", fixed, corrects="f-paris"), world)
    assert decision.action is Action.SUPERSEDES and [c.fact_id for c in decision.closes] == ["f-paris"]
