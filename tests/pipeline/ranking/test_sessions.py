"""Session credit: candidates of one session (same cube and episode, close in time) lift each other."""

import pytest

from pipeline.ranking.boosts import Boosted
from pipeline.ranking.fusion import Fused
from pipeline.ranking.sessions import credit_sessions, sessions_of
from pipeline.records import MemoryRecord

MIN = 60_000
DAY = 86_400_000


def candidate(memory_id: str, score: float, created_at: int, episode: str | None = None) -> Boosted:
    rec = MemoryRecord(id=memory_id, cube="c", agent="a", tier="trace", kind="message", content=memory_id, tags=[],
                       metadata={}, created_at=created_at, updated_at=created_at, episode=episode)
    return Boosted(Fused(("c", memory_id), score), rec, {"feedback": 1.0}, 1.0)


def test_sessions_are_chains_of_close_turns_of_one_episode():
    ranked = [candidate("a1", 0.5, 0), candidate("b1", 0.4, DAY), candidate("a2", 0.3, 20 * MIN),
              candidate("a3", 0.2, 45 * MIN), candidate("e1", 0.1, 30 * MIN, episode="ep")]
    groups = [{ranked[i].key[1] for i in g} for g in sessions_of(ranked)]
    assert sorted(map(sorted, groups)) == [["a1", "a2", "a3"], ["b1"], ["e1"]]


def test_a_session_that_holds_the_best_hit_lifts_its_other_turns_above_a_lone_hit():
    ranked = [candidate("best", 0.50, 0), candidate("lone", 0.32, DAY), candidate("sibling", 0.30, MIN)]
    out = credit_sessions(ranked, share=0.2)
    assert [b.key[1] for b in out] == ["best", "sibling", "lone"]
    sibling = next(b for b in out if b.key[1] == "sibling")
    assert sibling.score == pytest.approx(0.30 + 0.2 * 0.50)
    assert sibling.boosts["session"] == pytest.approx((0.30 + 0.1) / 0.30, abs=1e-4)
    best = next(b for b in out if b.key[1] == "best")
    assert best.score == pytest.approx(0.50 + 0.2 * 0.30)  # credited by its best other turn
    assert "session" not in next(b for b in out if b.key[1] == "lone").boosts


def test_no_share_changes_nothing():
    ranked = [candidate("x", 0.2, 0), candidate("y", 0.1, MIN)]
    assert credit_sessions(ranked, share=0.0) == ranked
