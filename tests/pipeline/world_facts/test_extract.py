"""World-fact extraction with the real spaCy model: what chat lines yield, and what they must not."""

import pytest

from pipeline.world_facts.extract import _facts_of_doc, extract_facts, load_fact_extractor
from pipeline.world_facts.fact import Predicate, TraceText, WorldFact
from tests.pipeline.world_facts.labelled import HELDOUT, LABELLED, evaluate, load_labelled

T0 = 1_700_000_000_000


@pytest.fixture(scope="session")
def nlp():
    return load_fact_extractor()


def facts_of(nlp, text, speaker="Dana", trace_id="tr-1", time_ms=T0):
    (facts,) = extract_facts(nlp, [TraceText(trace_id, text, time_ms, speaker)])
    return [(f.subject, f.relation, f.predicate.value, f.object, f.polarity, f.confidence, f.rule) for f in facts]


def test_one_sentence_yields_each_fact_it_states(nlp):
    assert facts_of(nlp, "I live in Lisbon and work at Stripe as a backend engineer.") == [
        ("Dana", None, "lives_in", "Lisbon", True, 0.9, "explicit"),
        ("Dana", None, "works_at", "Stripe", True, 0.9, "explicit"),
        ("Dana", None, "works_as", "backend engineer", True, 0.9, "explicit"),
    ]


def test_a_fact_carries_its_time_source_and_evidence(nlp):
    (facts,) = extract_facts(nlp, [TraceText("tr-9", "Thanks! I'm allergic to peanuts.", T0, "Lena")])
    assert facts == [
        WorldFact(subject="Lena", predicate=Predicate.ALLERGIC_TO, object="peanuts", polarity=True,
                  confidence=0.9, valid_from=T0, source_ids=("tr-9",), relation=None, valid_to=None,
                  rule="explicit", evidence="I'm allergic to peanuts.")
    ]
    assert facts[0].render() == "Lena is allergic to peanuts."
    assert WorldFact.from_dict(facts[0].to_dict()) == facts[0]


def test_my_sister_is_the_speaker_with_a_relation_and_her_name_is_a_fact_too(nlp):
    assert facts_of(nlp, "My sister Emma moved to Paris last year.") == [
        ("Dana", "sister", "lives_in", "Paris", True, 0.7, "moved_to"),
        ("Dana", None, "has_sibling", "sister Emma", True, 0.8, "relative_name"),
    ]


def test_negation_keeps_the_predicate_and_flips_polarity(nlp):
    assert facts_of(nlp, "I don't like cilantro anymore.") == [
        ("Dana", None, "likes", "cilantro", False, 0.9, "explicit")
    ]
    assert facts_of(nlp, "I no longer live in Berlin.") == [
        ("Dana", None, "lives_in", "Berlin", False, 0.9, "explicit")
    ]


@pytest.mark.parametrize("text", [
    "Do you like jazz?",
    "do you like jazz",
    "Can I bring my dog?",
    "If I lived in Tokyo I would eat ramen every day.",
    "I would love to visit Iceland someday.",
    "I used to live in Chicago.",
    "I worked at IBM for ten years.",
    "I'm so tired today.",
    "She really likes the new design.",
    "I love this song!",
    "I have a meeting at noon.",
])
def test_questions_hypotheticals_past_states_and_unresolved_subjects_yield_nothing(nlp, text):
    assert facts_of(nlp, text) == []


def test_third_person_facts_name_their_subject_and_score_lower(nlp):
    assert facts_of(nlp, "Maria speaks French.") == [("Maria", None, "speaks", "French", True, 0.8, "explicit")]
    assert facts_of(nlp, "Alice's brother works for Google.") == [
        ("Alice", "brother", "works_at", "Google", True, 0.8, "explicit")
    ]


def test_hedged_and_speakerless_statements_lose_confidence(nlp):
    assert facts_of(nlp, "I think I'm vegetarian.") == [("Dana", None, "is", "vegetarian", True, 0.55, "persona")]
    assert facts_of(nlp, "I love spicy food.", speaker=None) == [
        ("user", None, "likes", "spicy food", True, 0.8, "explicit")
    ]


def test_each_trace_gets_its_own_list_in_order(nlp):
    traces = [TraceText("a", "Hi there!", T0, "Ana"), TraceText("b", "I'm a data scientist.", T0 + 1, "Ana"),
              TraceText("c", "", T0 + 2, "Ana")]
    out = extract_facts(nlp, traces)
    assert [[(f.source_ids, f.predicate.value, f.object, f.valid_from) for f in facts] for facts in out] == [
        [], [(("b",), "works_as", "data scientist", T0 + 1)], []
    ]


def test_entities_are_recognised_where_a_clause_needs_them_so_facts_equal_a_full_parse(nlp):
    # The extractor skips the entity recogniser on texts without a clause; what it finds must be
    # what every component on every text finds, entity-dependent rules included.
    examples = load_labelled(LABELLED) + load_labelled(HELDOUT)
    traces = [TraceText(e.id, e.text, T0, e.speaker) for e in examples] + [
        TraceText("date", "January is the coldest month here.", T0, "Ana"),  # a DATE subject is refused
        TraceText("place", "I moved to New York City in 2019.", T0, "Ana"),  # a multi-word place object
        TraceText("none", "Thanks, that sounds great!", T0, "Ana"),
    ]
    full = [_facts_of_doc(doc, t, t.speaker) for doc, t in zip(nlp.pipe(t.text for t in traces), traces)]
    assert extract_facts(nlp, traces) == full
    by_id = dict(zip((t.trace_id for t in traces), full))
    assert by_id["date"] == [] and [f.object for f in by_id["place"]] == ["New York City"]
    assert sum(map(len, full)) > 100


def test_precision_on_the_labelled_sets_stays_above_its_floor(nlp):
    # Measured (benchmarks/world_facts.py): relaxed precision 1.00 on both sets, exact 0.97 on the
    # labelled set, recall 0.94 on both; floors sit a little below so a regression fails here.
    labelled = evaluate(nlp, load_labelled(LABELLED))
    heldout = evaluate(nlp, load_labelled(HELDOUT))
    assert labelled["relaxed"]["precision"] >= 0.95 and labelled["exact"]["precision"] >= 0.9
    assert heldout["relaxed"]["precision"] >= 0.9
    assert labelled["relaxed"]["recall"] >= 0.85 and heldout["relaxed"]["recall"] >= 0.8
    assert labelled["false_facts_on_factless_sentences"] == 0
