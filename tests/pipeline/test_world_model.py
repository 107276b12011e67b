"""Reconciling new facts with the world model: new, restated, superseded, never overwritten."""

from dataclasses import replace

from pipeline.world_facts.fact import Predicate, WorldFact
from pipeline.world_model import (
    Action,
    Closure,
    FactDecision,
    StoredFact,
    close,
    conflicts,
    correct,
    decide,
    reconcile,
)

DAY = 86_400_000
T0 = 1_700_000_000_000


def fact(predicate, obj, *, at=T0, polarity=True, subject="Dana", relation=None, confidence=0.9, source="tr-1"):
    return WorldFact(subject=subject, predicate=Predicate(predicate), object=obj, polarity=polarity,
                     confidence=confidence, valid_from=at, source_ids=(source,), relation=relation)


def stored(fact_id, f):
    return StoredFact(fact_id, f)


def test_a_fact_about_something_unknown_is_new():
    new = stored("f2", fact("likes", "jazz"))
    assert decide(new, [stored("f1", fact("lives_in", "Lisbon"))]) == FactDecision(Action.NEW, "f2", new.fact)


def test_a_restated_fact_gains_a_source_and_confidence_instead_of_a_copy():
    old = stored("f1", fact("likes", "green tea", confidence=0.8, source="tr-1"))
    new = stored("f2", fact("likes", "Green tea.", at=T0 + DAY, confidence=0.7, source="tr-7"))
    decision = decide(new, [old])
    merged = replace(old.fact, confidence=0.94, source_ids=("tr-1", "tr-7"))  # noisy-or of 0.8 and 0.7
    assert decision == FactDecision(Action.DUPLICATE, "f2", merged, target="f1")
    assert not decision.stores_new_record


def test_a_new_value_of_a_single_valued_predicate_supersedes_the_old_one():
    old = stored("f1", fact("lives_in", "Berlin"))
    new = stored("f2", fact("lives_in", "Lisbon", at=T0 + 30 * DAY))
    assert decide(new, [old]) == FactDecision(
        Action.SUPERSEDES, "f2", new.fact, closes=(Closure("f1", T0 + 30 * DAY, "f2"),)
    )


def test_a_second_value_of_a_multi_valued_predicate_is_just_new():
    old = stored("f1", fact("likes", "jazz"))
    new = stored("f2", fact("likes", "hiking", at=T0 + DAY))
    assert decide(new, [old]).action is Action.NEW


def test_no_longer_liking_something_supersedes_liking_it():
    old = stored("f1", fact("likes", "cilantro"))
    new = stored("f2", fact("likes", "cilantro", polarity=False, at=T0 + DAY))
    assert decide(new, [old]) == FactDecision(Action.SUPERSEDES, "f2", new.fact,
                                              closes=(Closure("f1", T0 + DAY, "f2"),))


def test_disliking_supersedes_liking_the_same_thing():
    old = stored("f1", fact("likes", "country music"))
    new = stored("f2", fact("dislikes", "country music", at=T0 + DAY))
    assert decide(new, [old]).closes == (Closure("f1", T0 + DAY, "f2"),)


def test_a_negative_fact_about_another_value_contradicts_nothing():
    old = stored("f1", fact("lives_in", "Lisbon"))
    new = stored("f2", fact("lives_in", "Berlin", polarity=False, at=T0 + DAY))
    assert decide(new, [old]).action is Action.NEW


def test_facts_about_the_speakers_sister_do_not_touch_the_speakers_own():
    mine = stored("f1", fact("lives_in", "Lisbon"))
    hers = stored("f2", fact("lives_in", "Paris", relation="sister", at=T0 + DAY))
    assert decide(hers, [mine]).action is Action.NEW
    assert not conflicts(hers.fact, mine.fact)


def test_a_late_older_statement_is_stored_as_history_not_as_the_truth():
    current = stored("f1", fact("works_at", "Datadog", at=T0 + 10 * DAY))
    late = stored("f2", fact("works_at", "Acme", at=T0))
    decision = decide(late, [current])
    assert decision == FactDecision(Action.HISTORICAL, "f2", decision.fact, target="f1")
    assert decision.fact.valid_to == T0 + 10 * DAY


def test_reconcile_decides_a_batch_in_order_and_returns_the_new_active_set():
    active = [stored("f1", fact("lives_in", "Berlin")), stored("f2", fact("likes", "jazz"))]
    batch = [
        stored("f3", fact("lives_in", "Lisbon", at=T0 + DAY)),
        stored("f4", fact("lives_in", "Porto", at=T0 + 2 * DAY)),
        stored("f5", fact("likes", "jazz", at=T0 + 2 * DAY, source="tr-5")),
    ]
    decisions, now_active = reconcile(batch, active)
    assert [(d.action, d.fact_id, d.target, d.closes) for d in decisions] == [
        (Action.SUPERSEDES, "f3", None, (Closure("f1", T0 + DAY, "f3"),)),
        (Action.SUPERSEDES, "f4", None, (Closure("f3", T0 + 2 * DAY, "f4"),)),
        (Action.DUPLICATE, "f5", "f2", ()),
    ]
    assert [(s.id, s.fact.object, s.fact.source_ids) for s in now_active] == [
        ("f2", "jazz", ("tr-1", "tr-5")),
        ("f4", "Porto", ("tr-1",)),
    ]


def test_feedback_wrong_with_a_correction_supersedes_even_a_multi_valued_fact():
    old = stored("f1", fact("likes", "jazz"))
    fix = stored("f9", fact("likes", "blues", at=T0 + DAY))
    assert correct(old, fix) == FactDecision(Action.SUPERSEDES, "f9", fix.fact,
                                             closes=(Closure("f1", T0 + DAY, "f9"),))


def test_feedback_outdated_closes_validity_but_keeps_the_fact():
    old = stored("f1", fact("works_at", "Acme"))
    closed = close(old, T0 + 5 * DAY)
    assert (closed.object, closed.valid_from, closed.valid_to) == ("Acme", T0, T0 + 5 * DAY)
