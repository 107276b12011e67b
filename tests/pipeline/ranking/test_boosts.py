"""Boosts after fusion: feedback, recency against the newest candidate, and which candidates take part."""

import pytest

from pipeline.ranking.boosts import Boosted, boost, boosts_of, feedback_factor, recency_factor
from pipeline.ranking.config import RankingConfig
from pipeline.ranking.fusion import Fused
from pipeline.records import MemoryRecord

DAY = 86_400_000


def record(memory_id: str, created_at: int = 0, feedback: int = 0, status: str = "active") -> MemoryRecord:
    return MemoryRecord(id=memory_id, cube="c", agent="a", tier="trace", kind="note", content=memory_id, tags=[],
                        metadata={}, created_at=created_at, updated_at=created_at, feedback=feedback, status=status)


def test_recency_halves_its_share_every_half_life_and_never_goes_below_the_floor():
    assert recency_factor(0, 14) == pytest.approx(1.0)
    assert recency_factor(14 * DAY, 14) == pytest.approx(0.85)
    assert recency_factor(10_000 * DAY, 14) == pytest.approx(0.7)
    assert recency_factor(-DAY, 14) == pytest.approx(1.0)  # newer than the newest: no bonus


def test_feedback_moves_a_score_by_at_most_a_fifth_and_saturates_at_three_signals():
    assert [feedback_factor(n) for n in (-10, -3, 0, 3, 10)] == pytest.approx([0.8, 0.8, 1.0, 1.2, 1.2])
    assert feedback_factor(1) == pytest.approx(1 + 0.2 / 3)


def test_recency_is_a_boost_only_when_a_half_life_is_set():
    rec = record("m", created_at=0, feedback=3)
    assert boosts_of(rec, 14 * DAY, RankingConfig()) == {"feedback": pytest.approx(1.2)}
    assert boosts_of(rec, 14 * DAY, RankingConfig(recency_half_life_days=14)) == {
        "feedback": pytest.approx(1.2), "recency": pytest.approx(0.85)}


def test_only_active_records_take_part_and_the_boosted_score_reorders_them():
    fused = [Fused(("c", "old"), 0.10), Fused(("c", "gone"), 0.09), Fused(("c", "dup"), 0.08), Fused(("c", "new"), 0.09)]
    records = {
        ("c", "old"): record("old", created_at=0),
        ("c", "dup"): record("dup", created_at=0, status="duplicate"),
        ("c", "new"): record("new", created_at=14 * DAY),
    }  # "gone" was deleted: no record
    ranked = boost(fused, records, RankingConfig(recency_half_life_days=14))
    assert ranked == [
        Boosted(fused[3], records[("c", "new")], {"feedback": 1.0, "recency": 1.0}, 1.0),
        Boosted(fused[0], records[("c", "old")], {"feedback": 1.0, "recency": pytest.approx(0.85)}, pytest.approx(0.85)),
    ]
    assert [b.score for b in ranked] == pytest.approx([0.09, 0.085])


def test_equal_boosted_scores_keep_the_fused_order():
    fused = [Fused(("c", "a"), 0.5), Fused(("c", "b"), 0.5)]
    records = {("c", "a"): record("a"), ("c", "b"): record("b")}
    assert [b.key for b in boost(fused, records, RankingConfig())] == [("c", "a"), ("c", "b")]


def test_no_live_candidates_rank_nothing():
    assert boost([Fused(("c", "gone"), 0.1)], {}, RankingConfig()) == []
