"""The long-query view: each question after a few turns of another conversation, within the API's limit."""

from benchmarks.locomo_long_query import MAX_QUERY_CHARS, wrap_in_chat


def test_the_question_comes_last_after_turns_of_another_conversation():
    pool = {"a": [f"A{i}" for i in range(10)], "b": [f"B{i}" for i in range(10)]}
    wrapped = wrap_in_chat("Where did Ann run?", "a", pool, 3, turns=4)
    lines = wrapped.splitlines()
    assert lines[-1] == "Where did Ann run?" and len(lines) == 5
    assert all(line.startswith("B") for line in lines[:-1])
    assert wrapped == wrap_in_chat("Where did Ann run?", "a", pool, 3, turns=4)  # the same on every run


def test_long_filler_gives_way_before_the_api_limit_and_a_lone_conversation_is_left_alone():
    pool = {"a": ["x"], "b": ["y" * 3000] * 6}
    wrapped = wrap_in_chat("Q?", "a", pool, 0)
    assert len(wrapped) <= MAX_QUERY_CHARS and wrapped.endswith("\nQ?")
    assert wrap_in_chat("Q?", "a", {"a": ["x"] * 9}, 0) == "Q?"
