import numpy as np

from pipeline.filters import SearchFilter
from storage.hot_vectors import HotVectors


def unit(seed):
    v = np.random.default_rng(seed).normal(size=16).astype(np.float32)
    return v / np.linalg.norm(v)


def rows(n, **attrs):
    return [{"id": f"m{i}", "vector": unit(i), "kind": "note", "tier": "trace", "tags": [], "created_at": i, **attrs}
            for i in range(n)]


def test_exact_search_ranks_by_cosine():
    hot = HotVectors(16)
    hot.upsert(rows(50))
    hits = hot.search(unit(7), 3)
    assert hits[0][0] == "m7" and abs(hits[0][1] - 1.0) < 1e-5
    brute = sorted(((f"m{i}", float(unit(i) @ unit(7))) for i in range(50)), key=lambda x: -x[1])[:3]
    assert [h[0] for h in hits] == [b[0] for b in brute]


def test_updates_overwrite_and_deletes_disappear_even_after_compaction():
    hot = HotVectors(16)
    hot.upsert(rows(2000))
    hot.remove([f"m{i}" for i in range(0, 2000, 2)])  # half dead: compacts
    assert len(hot) == 1000
    assert hot.search(unit(4), 1)[0][0] != "m4"
    hot.upsert([{"id": "m1", "vector": unit(4), "kind": "note", "tier": "trace", "tags": [], "created_at": 1}])
    assert hot.search(unit(4), 1)[0][0] == "m1"


def test_filters_restrict_candidates():
    hot = HotVectors(16)
    hot.upsert(rows(10))
    hot.upsert([{"id": "tagged", "vector": unit(100), "kind": "message", "tier": "trace", "tags": ["x"],
                 "created_at": 50}])
    assert [h[0] for h in hot.search(unit(3), 5, SearchFilter(tags=frozenset({"x"})))] == ["tagged"]
    assert [h[0] for h in hot.search(unit(3), 5, SearchFilter(kinds=frozenset({"message"})))] == ["tagged"]
    assert sorted(h[0] for h in hot.search(unit(3), 5, SearchFilter(since=8, until=10))) == ["m8", "m9"]


def test_nearest_answers_each_query_row():
    hot = HotVectors(16)
    assert hot.nearest(np.stack([unit(1)])) == [None]
    hot.upsert(rows(5))
    best = hot.nearest(np.stack([unit(2), unit(4)]))
    assert [b[0] for b in best] == ["m2", "m4"]
