"""Hybrid search: BM25 and vector candidates per cube, fused, collapsed, cut to top_k."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from configs import Settings
from pipeline.filters import SearchFilter
from pipeline.fusion import Fused
from pipeline.ids import private_cube_id
from pipeline.ranking import RankingConfig, rank
from pipeline.records import Status
from pipeline.timefmt import to_iso
from service.query_embedder import QueryEmbedder
from service.read_side import ReadSide
from storage.registry import Registry


@dataclass(frozen=True)
class SearchRequest:
    query: str
    top_k: int = 10
    filter: SearchFilter = SearchFilter()
    collapse: bool = True
    ranking: RankingConfig | None = None  # None: the server's configured ranking


class SearchService:
    def __init__(self, settings: Settings, registry: Registry, read: ReadSide, embedder: QueryEmbedder) -> None:
        self._settings, self._registry, self._read, self._embedder = settings, registry, read, embedder

    def search(self, agent: str, req: SearchRequest) -> dict[str, Any]:
        started = time.perf_counter()
        cube = self._registry.get(private_cube_id(agent))
        if cube is None:
            return {"results": [], "took_ms": 0.0}
        config = req.ranking or RankingConfig(rrf_k=self._settings.rrf_k)
        bm25, vector = self._candidates(cube.id, cube.shard, req, config)
        fused = rank(bm25, vector, config)
        results = self._materialize(cube.id, fused[: req.top_k * 3 + 10], req)
        return {"results": results, "took_ms": round((time.perf_counter() - started) * 1000, 3)}

    def _candidates(
        self, cube: str, shard: str, req: SearchRequest, config: RankingConfig
    ) -> tuple[list[tuple[tuple[str, str], float]], list[tuple[tuple[str, str], float]]]:
        """Each channel's best candidates in one cube, keyed (cube, id), best first."""
        n = max(self._settings.search_candidates, req.top_k * 3)
        bm25, vector = [], []
        if "bm25" in config.channels:
            hits = self._read.shard(shard).lexical.search(req.query, [cube], n, req.filter)
            bm25 = [((c, i), s) for c, i, s in hits]
        if "vector" in config.channels:
            query_vector = self._embedder.embed(req.query)
            vector = [((cube, i), s) for i, s in self._read.vector_search(cube, shard, query_vector, n, req.filter)]
        return bm25, vector

    def _materialize(self, cube: str, fused: list[Fused], req: SearchRequest) -> list[dict[str, Any]]:
        ids = [f.key[1] for f in fused]
        with self._read.cube(cube) as store:
            if store is None:
                return []
            records = store.get_many(ids)
            near_of = dict(store.links_from(ids, "near_duplicate")) if req.collapse else {}
        results: list[dict[str, Any]] = []
        shown: dict[str, dict[str, Any]] = {}
        for f in fused:
            memory_id = f.key[1]
            rec = records.get(memory_id)
            if rec is None or rec["status"] != Status.ACTIVE:
                continue  # deleted since the index was read
            original = shown.get(near_of.get(memory_id, ""))
            if original is not None:
                original["near_duplicates"].append(memory_id)
                continue
            result = {
                "id": memory_id,
                "cube": cube,
                "content": rec["content"],
                "score": round(f.score, 6),
                "scores": {"bm25": f.bm25, "vector": f.vector},
                "kind": rec["kind"],
                "tier": rec["tier"],
                "tags": rec["tags"],
                "metadata": rec["metadata"],
                "created_at": to_iso(rec["created_at"]),
                "near_duplicates": [],
            }
            shown[memory_id] = result
            results.append(result)
            if len(results) == req.top_k:
                break
        return results
