import pytest

from pipeline.fusion import reciprocal_rank_fusion


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
