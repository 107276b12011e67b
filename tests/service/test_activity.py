"""The Overview's rolling window of searches and writes (pure: a clock is handed in)."""

from __future__ import annotations

from service.activity import Activity, CubeActivity


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_searches_are_counted_per_minute_with_their_median_time_per_agent():
    clock = Clock()
    window = Activity(window_s=600, clock=clock)
    for took, agent in ((10.0, "alice"), (30.0, "alice"), (20.0, "bob")):
        window.record("search", agent, ["agent-" + agent])
        window.searched(agent, took)
    clock.now += 120
    window.record("search", "alice", ["agent-alice"])
    window.searched("alice", 50.0)
    everyone = window.search_rate(None)
    assert (everyone.last_minute, everyone.per_minute, everyone.p50_ms, everyone.timed) == (1, 0.4, 25.0, 4)
    alice = window.search_rate({"alice"})
    assert (alice.last_minute, alice.p50_ms, alice.timed) == (1, 30.0, 3)


def test_the_window_forgets_what_is_older_than_it():
    clock = Clock()
    window = Activity(window_s=60, clock=clock)
    window.record("search", "alice", ["agent-alice"])
    window.searched("alice", 12.0)
    clock.now += 61
    assert window.search_rate(None).timed == 0 and window.search_rate(None).p50_ms is None
    assert window.hot_cubes({"agent-alice"}) == []


def test_hot_cubes_are_the_busiest_of_those_the_caller_may_see():
    clock = Clock()
    window = Activity(clock=clock)
    for cubes in (["agent-alice", "kb-1"], ["agent-alice"], ["agent-bob"], ["agent-bob"], ["agent-bob"]):
        window.record("search", "x", cubes)
    window.record("write", "alice", ["kb-1"])
    window.record("write", "alice", ["kb-1"])
    assert window.hot_cubes({"agent-alice", "kb-1"}) == [CubeActivity("kb-1", 1, 2), CubeActivity("agent-alice", 2, 0)]
