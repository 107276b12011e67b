"""Ranking: weighted fusion, the recency and feedback boosts, diversity, and the token budget cut."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.ranking import RankingConfig, mmr_order, rank, recency_factor
from service.search import Budget, fit_budget


def test_weights_decide_which_channel_leads_the_fusion():
    bm25 = [("a", 9.0), ("b", 5.0)]
    vector = [("b", 0.9), ("a", 0.8)]
    assert [f.key for f in rank(bm25, vector, RankingConfig(bm25_weight=1.0, vector_weight=0.3))] == ["a", "b"]
    assert [f.key for f in rank(bm25, vector, RankingConfig(bm25_weight=0.3, vector_weight=1.0))] == ["b", "a"]


def test_a_channel_left_out_contributes_nothing():
    fused = rank([("a", 9.0)], [("b", 0.9)], RankingConfig(channels=("vector",)))
    assert [(f.key, f.bm25_rank, f.vector_rank) for f in fused] == [("b", None, 1)]


def test_bad_ranking_values_are_refused():
    for bad in ({"channels": ()}, {"rrf_k": 0}, {"vector_weight": -1}, {"mmr_lambda": 1.5},
                {"recency_half_life_days": 0}):
        with pytest.raises(ValueError):
            RankingConfig(**bad)


def test_recency_halves_its_share_every_half_life_and_never_goes_below_the_floor():
    day = 86_400_000
    assert recency_factor(0, 14) == pytest.approx(1.0)
    assert recency_factor(14 * day, 14) == pytest.approx(0.85)
    assert recency_factor(10_000 * day, 14) == pytest.approx(0.7)


def test_mmr_skips_a_near_copy_of_what_it_already_picked():
    vectors = np.array([[1.0, 0.0], [0.999, 0.0447], [0.0, 1.0]], dtype=np.float32)
    assert mmr_order([1.0, 0.95, 0.6], vectors, lam=1.0, n=3) == [0, 1, 2]
    assert mmr_order([1.0, 0.95, 0.6], vectors, lam=0.5, n=2) == [0, 2]


def hit(i: int, tokens: int) -> dict:
    return {"id": f"m{i}", "cube": "c", "tokens": tokens}


def test_the_budget_cuts_what_does_not_fit_and_keeps_smaller_ones_after_it():
    ranked = [hit(0, 300), hit(1, 800), hit(2, 200), hit(3, 100)]
    kept, used, cut = fit_budget(ranked, Budget(max_memories=10, max_tokens=600))
    assert [r["id"] for r in kept] == ["m0", "m2", "m3"] and used == 600
    assert cut == [{"id": "m1", "cube": "c", "tokens": 800, "reason": "max_tokens"}]


def test_max_memories_cuts_the_tail():
    kept, used, cut = fit_budget([hit(i, 10) for i in range(4)], Budget(max_memories=2))
    assert [r["id"] for r in kept] == ["m0", "m1"] and used == 20
    assert [(c["id"], c["reason"]) for c in cut] == [("m2", "max_memories"), ("m3", "max_memories")]
