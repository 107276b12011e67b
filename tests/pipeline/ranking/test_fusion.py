"""Weighted reciprocal rank fusion of the BM25 and vector lists."""

import pytest

from pipeline.ranking.config import RankingConfig
from pipeline.ranking.fusion import Fused, fuse, reciprocal_rank_fusion


def test_rrf_sums_reciprocal_ranks_and_keeps_each_lists_evidence():
    fused = reciprocal_rank_fusion([("a", 9.0), ("b", 5.0)], [("b", 0.9), ("c", 0.8)], k=60)
    assert [f.key for f in fused] == ["b", "a", "c"]
    b, a, c = fused
    assert b.score == pytest.approx(1 / 62 + 1 / 61)
    assert (b.bm25, b.bm25_rank, b.vector, b.vector_rank) == (5.0, 2, 0.9, 1)
    assert (a.vector, a.vector_rank) == (None, None)
    assert c.score == pytest.approx(1 / 62)


def test_rrf_ties_keep_first_appearance_order():
    fused = reciprocal_rank_fusion([("x", 1.0)], [("y", 1.0)], k=10)
    assert [f.key for f in fused] == ["x", "y"]


def test_rrf_weights_shift_the_balance():
    fused = reciprocal_rank_fusion([("a", 1.0)], [("b", 1.0)], k=60, weights=(1.0, 2.0))
    assert [f.key for f in fused] == ["b", "a"]


def test_weights_decide_which_channel_leads_the_fusion():
    bm25 = [("a", 9.0), ("b", 5.0)]
    vector = [("b", 0.9), ("a", 0.8)]
    assert [f.key for f in fuse(bm25, vector, RankingConfig(bm25_weight=1.0, vector_weight=0.3))] == ["a", "b"]
    assert [f.key for f in fuse(bm25, vector, RankingConfig(bm25_weight=0.3, vector_weight=1.0))] == ["b", "a"]


def test_a_channel_left_out_contributes_nothing():
    fused = fuse([("a", 9.0)], [("b", 0.9)], RankingConfig(channels=("vector",)))
    assert fused == [Fused("b", score=pytest.approx(0.3 / 11), vector=0.9, vector_rank=1)]
