"""From fused candidates and what was read for them to the top_k results, each with its `why`."""

import numpy as np
import pytest

from pipeline.ranking.config import RankingConfig
from pipeline.ranking.fusion import fuse
from pipeline.ranking.results import ranked_results
from pipeline.records import MemoryRecord

DAY = 86_400_000


def record(memory_id: str, created_at: int = 0, **fields) -> MemoryRecord:
    return MemoryRecord(id=memory_id, cube="c", agent="a", tier="trace", kind="note", content=f"text of {memory_id}",
                        tags=["t"], metadata={"speaker": "Ann"}, created_at=created_at, updated_at=created_at,
                        tokens=7, **fields)


def test_a_result_carries_the_memory_its_score_and_why():
    fused = fuse([(("c", "m1"), 3.5)], [(("c", "m1"), 0.8125)], RankingConfig(rrf_k=10, vector_weight=0.5))
    [result] = ranked_results(fused, {("c", "m1"): record("m1", feedback=3)}, {}, {}, RankingConfig(), top_k=5)
    fusion = 1 / 11 + 0.5 / 11
    assert result == {
        "id": "m1", "cube": "c", "content": "text of m1", "score": round(fusion * 1.2, 6),
        "scores": {"bm25": 3.5, "vector": 0.8125, "feedback": 3},
        "why": {"bm25": {"rank": 1, "score": 3.5}, "vector": {"rank": 1, "score": 0.8125},
                "fusion": round(fusion, 6), "boosts": {"feedback": 1.2}, "mmr_rank": None},
        "tokens": 7, "kind": "note", "tier": "trace", "tags": ["t"], "metadata": {"speaker": "Ann"},
        "created_at": "1970-01-01T00:00:00.000Z", "near_duplicates": [],
    }


def test_results_are_boosted_folded_and_cut_to_top_k():
    config = RankingConfig(channels=("bm25",), recency_half_life_days=7)
    fused = fuse([(("c", i), 1.0) for i in ("old", "dup", "new", "gone", "other")], [], config)
    records = {("c", "old"): record("old", 0), ("c", "dup"): record("dup", 0),
               ("c", "new"): record("new", 14 * DAY), ("c", "other"): record("other", 14 * DAY)}
    out = ranked_results(fused, records, {("c", "dup"): ("c", "new")}, {}, config, top_k=2)
    # new (rank 3, x1.0) passes old (rank 1, two half-lives older: x0.775); "gone" has no record;
    # dup ranks below the two shown but still folds into its original.
    assert [(r["id"], r["near_duplicates"], r["why"]["bm25"]["rank"], r["why"]["boosts"]) for r in out] == [
        ("new", ["dup"], 3, {"feedback": 1.0, "recency": 1.0}),
        ("old", [], 1, {"feedback": 1.0, "recency": 0.775}),
    ]
    assert [r["score"] for r in out] == [round(1 / 13, 6), round(0.775 / 11, 6)]


def test_with_mmr_the_pool_is_wider_than_top_k_and_each_pick_says_its_mmr_rank():
    config = RankingConfig(channels=("bm25",), mmr_lambda=0.5)
    fused = fuse([(("c", "a"), 3.0), (("c", "a_copy"), 2.0), (("c", "b"), 1.0)], [], config)
    records = {key: record(key[1]) for key in (("c", "a"), ("c", "a_copy"), ("c", "b"))}
    vectors = {("c", "a"): np.array([1.0, 0.0], np.float32), ("c", "a_copy"): np.array([0.999, 0.0447], np.float32),
               ("c", "b"): np.array([0.0, 1.0], np.float32)}
    out = ranked_results(fused, records, {}, vectors, config, top_k=2)
    assert [(r["id"], r["why"]["mmr_rank"]) for r in out] == [("a", 1), ("b", 2)]
    assert [r["score"] for r in out] == pytest.approx([round(1 / 11, 6), round(1 / 13, 6)])


def test_no_candidates_give_no_results():
    assert ranked_results([], {}, {}, {}, RankingConfig(mmr_lambda=0.5), top_k=3) == []
