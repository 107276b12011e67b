"""Hybrid search: BM25 and vector candidates from every cube searched, fused, collapsed, cut to top_k."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from configs import Settings
from pipeline.access import Caller
from pipeline.filters import SearchFilter
from pipeline.fusion import Fused
from pipeline.ranking import RankingConfig, feedback_factor, mmr_order, rank, recency_factor
from pipeline.records import Status
from pipeline.timefmt import to_iso
from service.access import Access
from service.query_embedder import QueryEmbedder
from service.read_side import ReadSide
from storage.registry import Cube

Candidates = list[tuple[tuple[str, str], float]]  # ((cube, id), score), best first


@dataclass(frozen=True)
class Budget:
    """What a caller can take in: at most this many memories and (if set) this many tokens."""

    max_memories: int = 10
    max_tokens: int | None = None


@dataclass(frozen=True)
class SearchRequest:
    query: str
    top_k: int = 10
    filter: SearchFilter = SearchFilter()
    collapse: bool = True
    ranking: RankingConfig | None = None  # None: the server's configured ranking
    cubes: tuple[str, ...] | None = None  # None: the caller's own cube and its mounts
    budget: Budget | None = None  # None: top_k memories, no token limit


def ranking_from(settings: Settings) -> RankingConfig:
    return RankingConfig(
        rrf_k=settings.rrf_k,
        bm25_weight=settings.bm25_weight,
        vector_weight=settings.vector_weight,
        context=settings.bm25_context,
        content_boost=settings.bm25_content_boost,
        recency_half_life_days=settings.recency_half_life_days or None,
        mmr_lambda=settings.mmr_lambda if settings.mmr_lambda < 1 else None,
    )


class SearchService:
    def __init__(self, settings: Settings, access: Access, read: ReadSide, embedder: QueryEmbedder) -> None:
        self._settings, self._access, self._read, self._embedder = settings, access, read, embedder
        self.default_ranking = ranking_from(settings)
        self._lexical_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bm25")
        self.on_search: Callable[[str, list[str]], None] = lambda agent, cubes: None

    def search(self, caller: Caller, req: SearchRequest) -> dict[str, Any]:
        clock = _Clock()
        cubes = self._access.search_cubes(caller, list(req.cubes) if req.cubes else None)
        self.on_search(caller.agent, [c.id for c in cubes])
        config = req.ranking or self.default_ranking
        bm25, vector = self._candidates(cubes, req, config, clock)
        fused = rank(bm25, vector, config)
        clock.lap("fuse")
        ranked = self._materialize(fused[: req.top_k * 3 + 10], req, config)
        clock.lap("fetch")
        results, used, cut = fit_budget(ranked, req.budget or Budget(req.top_k))
        return {"results": results, "used_tokens": used, "cut": cut, "took_ms": clock.total(), "timings_ms": clock.laps}

    def _candidates(
        self, cubes: list[Cube], req: SearchRequest, config: RankingConfig, clock: "_Clock"
    ) -> tuple[Candidates, Candidates]:
        """Each channel's best candidates across the cubes. BM25 runs on a helper thread while the
        query is embedded (both release the GIL), so a hybrid search costs about the longer of the two."""
        n = max(self._settings.search_candidates, req.top_k * 3)
        lexical = self._lexical_pool.submit(self._bm25, cubes, req, config, n) if "bm25" in config.channels else None
        vector: Candidates = []
        if "vector" in config.channels:
            query_vector = self._embedder.embed(req.query)
            clock.lap("embed")
            for cube in cubes:
                hits = self._read.vector_search(cube.id, cube.shard, query_vector, n, req.filter)
                vector += [((cube.id, i), s) for i, s in hits]
            vector = sorted(vector, key=lambda c: -c[1])[:n]
            clock.lap("vector")
        bm25: Candidates = []
        if lexical is not None:
            bm25, took_ms = lexical.result()
            clock.laps["bm25"] = took_ms
            clock.lap("bm25_wait")
        return bm25, vector

    def _bm25(self, cubes: list[Cube], req: SearchRequest, config: RankingConfig, n: int) -> tuple[Candidates, float]:
        """One BM25 query per shard, best n overall, and the milliseconds it took."""
        start = time.perf_counter()
        by_shard: dict[str, list[str]] = defaultdict(list)
        for cube in cubes:
            by_shard[cube.shard].append(cube.id)
        found: Candidates = []
        for shard, ids in by_shard.items():
            hits = self._read.shard(shard).lexical.search(req.query, ids, n, req.filter, config.bm25_content_boost)
            found += [((c, i), s) for c, i, s in hits]
        return sorted(found, key=lambda c: -c[1])[:n], round((time.perf_counter() - start) * 1000, 3)

    def _materialize(self, fused: list[Fused], req: SearchRequest, config: RankingConfig) -> list[dict[str, Any]]:
        """The ranked results (top_k at most): records read, boosts applied, near duplicates folded."""
        by_cube: dict[str, list[str]] = defaultdict(list)
        for f in fused:
            by_cube[f.key[0]].append(f.key[1])
        records: dict[tuple[str, str], dict[str, Any]] = {}
        near_of: dict[tuple[str, str], tuple[str, str]] = {}
        vectors: dict[tuple[str, str], np.ndarray] = {}
        for cube, ids in by_cube.items():
            with self._read.cube(cube) as store:
                if store is None:
                    continue
                records.update({(cube, i): r for i, r in store.get_many(ids).items()})
                if req.collapse:
                    near_of.update({(cube, src): (cube, dst) for src, dst in store.links_from(ids, "near_duplicate")})
                if config.mmr_lambda is not None:
                    vectors.update({(cube, i): v for i, v in store.embeddings(ids).items()})
        live = [f for f in fused if (rec := records.get(f.key)) is not None and rec["status"] == Status.ACTIVE]
        newest = max((records[f.key]["created_at"] for f in live), default=0)
        boosts = {f.key: boosts_of(records[f.key], newest, config) for f in live}
        boosted = {key: math.prod(b.values()) for key, b in boosts.items()}
        scored = sorted(live, key=lambda f: -f.score * boosted[f.key])
        results: list[dict[str, Any]] = []
        shown: dict[tuple[str, str], dict[str, Any]] = {}
        # MMR picks top_k from a wider pool; otherwise the first top_k are the answer.
        pool = req.top_k if config.mmr_lambda is None else len(scored)
        for f in scored:
            original = shown.get(near_of.get(f.key, ("", "")))
            if original is not None:
                original["near_duplicates"].append(f.key[1])
                continue
            if len(results) == pool:
                continue  # still folding near duplicates into what is shown
            shown[f.key] = result = _result(f, records[f.key], boosts[f.key], boosted[f.key])
            results.append(result)
        if config.mmr_lambda is not None and results:
            results = _diversify(results, vectors, config.mmr_lambda, req.top_k)
        return results[: req.top_k]


def boosts_of(rec: dict[str, Any], newest: int, config: RankingConfig) -> dict[str, float]:
    """Multipliers on a fused score: feedback always, recency (age against the newest candidate) if on."""
    out = {"feedback": feedback_factor(rec["feedback"])}
    if config.recency_half_life_days is not None:
        out["recency"] = recency_factor(newest - rec["created_at"], config.recency_half_life_days)
    return out


def _channel(rank: int | None, score: float | None) -> dict[str, Any] | None:
    return None if rank is None else {"rank": rank, "score": round(float(score or 0.0), 6)}


def _result(f: Fused, rec: dict[str, Any], boosts: dict[str, float], boosted: float) -> dict[str, Any]:
    return {
        "id": f.key[1],
        "cube": f.key[0],
        "content": rec["content"],
        "score": round(f.score * boosted, 6),
        "scores": {"bm25": f.bm25, "vector": f.vector, "feedback": rec["feedback"]},
        "why": {
            "bm25": _channel(f.bm25_rank, f.bm25),
            "vector": _channel(f.vector_rank, f.vector),
            "fusion": round(f.score, 6),
            "boosts": {k: round(v, 4) for k, v in boosts.items()},
            "mmr_rank": None,
        },
        "tokens": int(rec["tokens"] or 0),
        "kind": rec["kind"],
        "tier": rec["tier"],
        "tags": rec["tags"],
        "metadata": rec["metadata"],
        "created_at": to_iso(rec["created_at"]),
        "near_duplicates": [],
    }


def _diversify(
    results: list[dict[str, Any]], vectors: dict[tuple[str, str], np.ndarray], lam: float, n: int
) -> list[dict[str, Any]]:
    """Maximal marginal relevance over the results that have vectors; the rest keep their places after."""
    with_vec = [r for r in results if (r["cube"], r["id"]) in vectors]
    rest = [r for r in results if (r["cube"], r["id"]) not in vectors]
    if not with_vec:
        return results
    matrix = np.stack([vectors[(r["cube"], r["id"])] for r in with_vec])
    order = mmr_order([r["score"] for r in with_vec], matrix, lam, n)
    picked = [with_vec[i] for i in order]
    for position, result in enumerate(picked, start=1):
        result["why"]["mmr_rank"] = position
    return picked + rest


def fit_budget(ranked: list[dict[str, Any]], budget: Budget) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    """Take results in rank order while they fit; one too large is cut and smaller ones after it may still fit."""
    kept: list[dict[str, Any]] = []
    cut: list[dict[str, Any]] = []
    used = 0
    for result in ranked:
        reason = None
        if len(kept) >= budget.max_memories:
            reason = "max_memories"
        elif budget.max_tokens is not None and used + result["tokens"] > budget.max_tokens:
            reason = "max_tokens"
        if reason:
            cut.append({"id": result["id"], "cube": result["cube"], "tokens": result["tokens"], "reason": reason})
            continue
        kept.append(result)
        used += result["tokens"]
    return kept, used, cut


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
