"""pipeline/prefetch_pool.py and pipeline/prefetch_queries.py: the prediction and its proof, pure."""

from __future__ import annotations

import numpy as np

from pipeline.prefetch_pool import Pool, certified_top, choose, outside_bound
from pipeline.prefetch_queries import PredictedQuery, predicted_queries, skill_text


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def exact_top(vectors: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> list[str]:
    return [ids[i] for i in np.argsort(-(vectors @ query), kind="stable")[:k]]


def clustered(rng: np.random.Generator, n: int, dim: int = 32) -> np.ndarray:
    """Vectors in a few topics, as memories of a conversation are."""
    centres = unit(rng.normal(size=(6, dim)))
    return unit(centres[rng.integers(0, 6, n)] + 0.35 * rng.normal(size=(n, dim)))


def partial_pool(vectors: np.ndarray, ids: list[str], anchors: np.ndarray, per_anchor: int) -> Pool:
    keep, floors = choose(vectors, anchors, per_anchor)
    return Pool([ids[i] for i in keep], vectors[keep], anchors, floors, whole=False)


def test_a_whole_cube_answers_every_query_with_the_exact_top_k():
    rng = np.random.default_rng(1)
    vectors = clustered(rng, 300)
    ids = [f"m{i}" for i in range(300)]
    pool = Pool(ids, vectors, np.zeros((0, 32), np.float32), np.zeros(0, np.float32), whole=True)
    for query in unit(rng.normal(size=(20, 32))):
        assert [i for i, _ in certified_top(pool, query, 10)] == exact_top(vectors, ids, query, 10)


def test_a_partial_pool_hits_only_when_it_provably_holds_the_exact_top_k():
    rng = np.random.default_rng(2)
    vectors = clustered(rng, 3_000)
    ids = [f"m{i}" for i in range(3_000)]
    anchors = vectors[[5, 900]] + 0.0
    pool = partial_pool(vectors, ids, anchors, per_anchor=400)
    assert 400 <= len(pool.ids) <= 800
    near = unit(anchors[0] + 0.15 * rng.normal(size=(40, 32)))
    far = unit(rng.normal(size=(40, 32)))
    hits = 0
    for query in np.concatenate([near, far, anchors]):
        top = certified_top(pool, query, 10)
        if top is not None:
            hits += 1
            assert [i for i, _ in top] == exact_top(vectors, ids, query, 10)  # a hit is never a worse answer
    assert certified_top(pool, anchors[0], 10) is not None and certified_top(pool, anchors[1], 10) is not None
    assert hits >= 2
    assert sum(certified_top(pool, q, 10) is not None for q in far) < len(far)  # far queries miss


def test_the_bound_on_memories_left_out_holds_for_each_of_them():
    rng = np.random.default_rng(3)
    vectors = clustered(rng, 1_000)
    anchors = vectors[[1, 2, 3]] + 0.0
    keep, floors = choose(vectors, anchors, 50)
    outside = np.setdiff1d(np.arange(1_000), keep)
    for query in unit(rng.normal(size=(30, 32))):
        assert (vectors[outside] @ query).max() <= outside_bound(query, anchors, floors) + 1e-5
    assert outside_bound(anchors[0], np.zeros((0, 32), np.float32), np.zeros(0, np.float32)) == 1.0


def test_queries_are_predicted_from_the_latest_turns_the_open_episode_and_the_skills():
    got = predicted_queries(["we fixed the boiler", "the boiler broke", "hello", "older"],
                            ["repair the heating"], ["boiler reset  how to reset a boiler", ""])
    assert got == [
        PredictedQuery("hello the boiler broke we fixed the boiler", "recent_turns"),
        PredictedQuery("we fixed the boiler", "last_turn"),
        PredictedQuery("repair the heating", "episode_task"),
        PredictedQuery("boiler reset  how to reset a boiler", "skill"),
    ]
    assert predicted_queries(["only turn"], [], []) == [PredictedQuery("only turn", "recent_turns")]  # no repeat
    assert predicted_queries([], [], []) == []
    assert len(predicted_queries([f"t{i}" for i in range(5)], ["a", "b", "c"], ["d", "e"], max_queries=4)) == 4
    assert skill_text({"name": "reset", "description": "reset a boiler"}) == "reset reset a boiler"
