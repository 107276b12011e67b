"""Diversity re-ranking: MMR skips near copies of what it already picked."""

import numpy as np

from pipeline.ranking.mmr import diversify, mmr_order

VECTORS = np.array([[1.0, 0.0], [0.999, 0.0447], [0.0, 1.0]], dtype=np.float32)


def test_mmr_skips_a_near_copy_of_what_it_already_picked():
    assert mmr_order([1.0, 0.95, 0.6], VECTORS, lam=1.0, n=3) == [0, 1, 2]
    assert mmr_order([1.0, 0.95, 0.6], VECTORS, lam=0.5, n=2) == [0, 2]
    assert mmr_order([], VECTORS[:0], lam=0.5, n=2) == []


def result(memory_id: str, score: float) -> dict:
    return {"id": memory_id, "cube": "c", "score": score, "why": {"mmr_rank": None}}


def test_diversify_marks_the_picked_and_keeps_results_without_vectors_after_them():
    results = [result("a", 1.0), result("a_copy", 0.95), result("novec", 0.9), result("b", 0.6)]
    vectors = {("c", "a"): VECTORS[0], ("c", "a_copy"): VECTORS[1], ("c", "b"): VECTORS[2]}
    out = diversify(results, vectors, lam=0.5, n=2)
    assert [(r["id"], r["why"]["mmr_rank"]) for r in out] == [("a", 1), ("b", 2), ("novec", None)]


def test_diversify_leaves_results_alone_when_none_has_a_vector():
    results = [result("a", 1.0), result("b", 0.5)]
    assert diversify(results, {}, lam=0.5, n=2) == [result("a", 1.0), result("b", 0.5)]
