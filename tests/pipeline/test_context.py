"""Neighbouring-turn context: which turns a trace's BM25 text holds, and whose text a change reaches."""

from __future__ import annotations

from pipeline.context import ContextWindow, ThreadRow, affected, contexts

MIN = 60_000


def turn(n: int, at: int | None = None, episode: str | None = None, active: bool = True) -> ThreadRow:
    return ThreadRow(f"t{n}", f"text {n}", at if at is not None else n * 1000, seq=n, episode=episode, active=active)


def test_a_turn_holds_its_own_text_first_then_its_neighbours_in_order():
    rows = [turn(n) for n in range(6)]
    text = contexts(rows, {"t2", "t0"}, ContextWindow(before=2, after=1))
    assert text["t2"] == "text 2\ntext 0\ntext 1\ntext 3"
    assert text["t0"] == "text 0\ntext 1"  # nothing before the first turn


def test_turns_further_apart_than_the_gap_or_in_another_episode_are_not_context():
    rows = [turn(0), turn(1), turn(2, at=2 + 90 * MIN), turn(3, at=3 + 90 * MIN, episode="e1")]
    text = contexts(rows, None, ContextWindow(before=2, after=2, gap_ms=30 * MIN))
    assert text["t1"] == "text 1\ntext 0"
    assert text["t2"] == "text 2"
    assert text["t3"] == "text 3"


def test_order_is_time_then_arrival_whatever_order_rows_come_in():
    rows = [turn(3, at=0), turn(1, at=0), turn(2, at=0)]
    assert contexts(rows, {"t2"}, ContextWindow(1, 1))["t2"] == "text 2\ntext 1\ntext 3"


def test_a_new_turn_reaches_the_turns_whose_window_it_falls_in():
    rows = [turn(n) for n in range(8)]
    assert affected(rows, {"t7"}, ContextWindow(before=2, after=1)) == {"t6", "t7"}
    assert affected(rows, {"t4"}, ContextWindow(before=2, after=1)) == {"t3", "t4", "t5", "t6"}


def test_a_deleted_turn_still_reaches_its_old_neighbours_but_has_no_context_itself():
    rows = [turn(0), turn(1), turn(2, active=False), turn(3), turn(4)]
    window = ContextWindow(before=1, after=1)
    assert affected(rows, {"t2"}, window) == {"t1", "t3"}
    assert contexts(rows, None, window)["t3"] == "text 3\ntext 1\ntext 4"
    assert "t2" not in contexts(rows, None, window)
