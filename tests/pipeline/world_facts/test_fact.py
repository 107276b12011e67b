"""The world-fact record: its predicates and how objects compare."""

from pipeline.world_facts.fact import PREDICATES, Predicate, normalize_object


def test_every_predicate_has_a_spec_and_single_valued_ones_are_the_documented_set():
    assert set(PREDICATES) == set(Predicate)
    assert {p.value for p, spec in PREDICATES.items() if spec.single_valued} == {
        "name", "age", "works_as", "works_at", "lives_in", "is_from", "born_in", "married_to"
    }


def test_objects_compare_without_case_punctuation_or_leading_determiners():
    assert normalize_object("The Green Tea!") == normalize_object("green tea") == "green tea"
    assert normalize_object("my  two cats") == "two cats"
