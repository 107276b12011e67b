"""Hybrid search: BM25 and vector candidates from every cube searched, fused, collapsed, cut to top_k."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from configs import Settings
from pipeline.access import Caller
from pipeline.filters import SearchFilter
from pipeline.fusion import Fused
from pipeline.ranking import RankingConfig, feedback_factor, rank
from pipeline.records import Status
from pipeline.timefmt import to_iso
from service.access import Access
from service.query_embedder import QueryEmbedder
from service.read_side import ReadSide
from storage.registry import Cube

Candidates = list[tuple[tuple[str, str], float]]  # ((cube, id), score), best first


@dataclass(frozen=True)
class SearchRequest:
    query: str
    top_k: int = 10
    filter: SearchFilter = SearchFilter()
    collapse: bool = True
    ranking: RankingConfig | None = None  # None: the server's configured ranking
    cubes: tuple[str, ...] | None = None  # None: the caller's own cube and its mounts


class SearchService:
    def __init__(self, settings: Settings, access: Access, read: ReadSide, embedder: QueryEmbedder) -> None:
        self._settings, self._access, self._read, self._embedder = settings, access, read, embedder
        self.on_search: Callable[[str, list[str]], None] = lambda agent, cubes: None

    def search(self, caller: Caller, req: SearchRequest) -> dict[str, Any]:
        clock = _Clock()
        cubes = self._access.search_cubes(caller, list(req.cubes) if req.cubes else None)
        self.on_search(caller.agent, [c.id for c in cubes])
        config = req.ranking or RankingConfig(rrf_k=self._settings.rrf_k)
        bm25, vector = self._candidates(cubes, req, config, clock)
        fused = rank(bm25, vector, config)
        clock.lap("fuse")
        results = self._materialize(fused[: req.top_k * 3 + 10], req)
        clock.lap("fetch")
        return {"results": results, "took_ms": clock.total(), "timings_ms": clock.laps}

    def _candidates(
        self, cubes: list[Cube], req: SearchRequest, config: RankingConfig, clock: "_Clock"
    ) -> tuple[Candidates, Candidates]:
        """Each channel's best candidates across the cubes: one BM25 query per shard, vectors per cube."""
        n = max(self._settings.search_candidates, req.top_k * 3)
        bm25: Candidates = []
        vector: Candidates = []
        if "bm25" in config.channels:
            by_shard: dict[str, list[str]] = defaultdict(list)
            for cube in cubes:
                by_shard[cube.shard].append(cube.id)
            for shard, ids in by_shard.items():
                bm25 += [((c, i), s) for c, i, s in self._read.shard(shard).lexical.search(req.query, ids, n, req.filter)]
            bm25 = sorted(bm25, key=lambda c: -c[1])[:n]
            clock.lap("bm25")
        if "vector" in config.channels:
            query_vector = self._embedder.embed(req.query)
            clock.lap("embed")
            for cube in cubes:
                hits = self._read.vector_search(cube.id, cube.shard, query_vector, n, req.filter)
                vector += [((cube.id, i), s) for i, s in hits]
            vector = sorted(vector, key=lambda c: -c[1])[:n]
            clock.lap("vector")
        return bm25, vector

    def _materialize(self, fused: list[Fused], req: SearchRequest) -> list[dict[str, Any]]:
        by_cube: dict[str, list[str]] = defaultdict(list)
        for f in fused:
            by_cube[f.key[0]].append(f.key[1])
        records: dict[tuple[str, str], dict[str, Any]] = {}
        near_of: dict[tuple[str, str], tuple[str, str]] = {}
        for cube, ids in by_cube.items():
            with self._read.cube(cube) as store:
                if store is None:
                    continue
                records.update({(cube, i): r for i, r in store.get_many(ids).items()})
                if req.collapse:
                    near_of.update({(cube, src): (cube, dst) for src, dst in store.links_from(ids, "near_duplicate")})
        results: list[dict[str, Any]] = []
        shown: dict[tuple[str, str], dict[str, Any]] = {}
        # Feedback moves a memory up or down before the cut (useful: up to x1.2, not useful: x0.8).
        for f in fused:
            rec = records.get(f.key)
            if rec is not None:
                f.score *= feedback_factor(rec["feedback"])
        fused = sorted(fused, key=lambda f: -f.score)
        for f in fused:
            rec = records.get(f.key)
            if rec is None or rec["status"] != Status.ACTIVE:
                continue  # deleted since the index was read
            original = shown.get(near_of.get(f.key, ("", "")))
            if original is not None:
                original["near_duplicates"].append(f.key[1])
                continue
            result = {
                "id": f.key[1],
                "cube": f.key[0],
                "content": rec["content"],
                "score": round(f.score, 6),
                "scores": {"bm25": f.bm25, "vector": f.vector, "feedback": rec["feedback"]},
                "kind": rec["kind"],
                "tier": rec["tier"],
                "tags": rec["tags"],
                "metadata": rec["metadata"],
                "created_at": to_iso(rec["created_at"]),
                "near_duplicates": [],
            }
            shown[f.key] = result
            results.append(result)
            if len(results) == req.top_k:
                break
        return results


class _Clock:
    """Milliseconds spent in each step of one search, for `timings_ms`."""

    def __init__(self) -> None:
        self._start = self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self._last) * 1000, 3)
        self._last = now

    def total(self) -> float:
        return round((time.perf_counter() - self._start) * 1000, 3)
