import numpy as np

from pipeline.filters import SearchFilter
from pipeline.records import IndexRow
from storage.hot_vectors import HotVectors


def unit(seed):
    v = np.random.default_rng(seed).normal(size=16).astype(np.float32)
    return v / np.linalg.norm(v)


def row(memory_id, vector, created_at, kind="note", tags=()):
    return IndexRow(id=memory_id, cube="c", tier="trace", kind=kind, index_text=memory_id, tags=list(tags),
                    created_at=created_at, status="active", vector=vector)


def rows(n):
    return [row(f"m{i}", unit(i), i) for i in range(n)]


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
    hot.upsert([row("m1", unit(4), 1)])
    assert hot.search(unit(4), 1)[0][0] == "m1"


def test_filters_restrict_candidates():
    hot = HotVectors(16)
    hot.upsert(rows(10))
    hot.upsert([row("tagged", unit(100), 50, kind="message", tags=["x"])])
    assert [h[0] for h in hot.search(unit(3), 5, SearchFilter(tags=frozenset({"x"})))] == ["tagged"]
    assert [h[0] for h in hot.search(unit(3), 5, SearchFilter(kinds=frozenset({"message"})))] == ["tagged"]
    assert sorted(h[0] for h in hot.search(unit(3), 5, SearchFilter(since=8, until=10))) == ["m8", "m9"]


def test_nearest_answers_each_query_row():
    hot = HotVectors(16)
    assert hot.nearest(np.stack([unit(1)])) == [None]
    hot.upsert(rows(5))
    best = hot.nearest(np.stack([unit(2), unit(4)]))
    assert [b[0] for b in best] == ["m2", "m4"]


def clustered(n, dim=16, centers=40, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, dim))
    v = (c[rng.integers(0, centers, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_partitioned_search_finds_what_exact_search_finds():
    vecs = clustered(5000)
    hot = HotVectors(16)
    hot.upsert([row(f"m{i}", v, i) for i, v in enumerate(vecs)])
    exact = [set(i for i, _ in hot.search(q, 10)) for q in vecs[:50]]
    hot.build_ivf(partitions=70)
    assert hot.partitioned and len(hot) == 5000
    found = [set(i for i, _ in hot.search(q, 10, probes=8)) for q in vecs[:50]]
    recall = sum(len(a & b) for a, b in zip(exact, found)) / 500
    assert recall >= 0.9
    assert all(hot.search(q, 1, probes=8)[0][0] == f"m{i}" for i, q in enumerate(vecs[:50]))


def test_rows_added_or_removed_after_partitioning_are_respected():
    vecs = clustered(3000, seed=1)
    hot = HotVectors(16)
    hot.upsert([row(f"m{i}", v, i) for i, v in enumerate(vecs[:2000])])
    hot.build_ivf(partitions=40)
    hot.upsert([row(f"m{i}", v, i) for i, v in enumerate(vecs[2000:], start=2000)])
    assert hot.search(vecs[2500], 1, probes=4)[0][0] == "m2500"  # found in the unpartitioned tail
    hot.remove(["m7"])
    assert "m7" not in [i for i, _ in hot.search(vecs[7], 5, probes=4)]
    assert sorted(i for i, _ in hot.search(vecs[10], 50, SearchFilter(since=2990), probes=40)) == [
        f"m{i}" for i in sorted(range(2990, 3000), key=str)]
    assert hot.needs_partitions(min_rows=1000)  # the tail is over a fifth of the indexed rows
