"""One search, start to end: resolve the cubes, gather BM25 and vector candidates, read what ranking
needs from the cube files, and hand it to the pure ranking steps (pipeline/ranking/)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from configs import Settings
from pipeline.access import Caller
from pipeline.filters import SearchFilter
from pipeline.ranking.boosts import Key
from pipeline.ranking.budget import Budget, fit_budget
from pipeline.ranking.config import RankingConfig, with_overrides
from pipeline.query_names import NamedIn, name_candidates, without_names
from pipeline.query_segments import Segment, segments
from pipeline.query_time import spans
from pipeline.ranking.fusion import Fused, fuse_segments
from pipeline.ranking.results import ranked_results
from pipeline.lifecycle import alive
from pipeline.records import MemoryRecord
from pipeline.timefmt import now_ms
from service.access import Access
from service.query_embedder import QueryEmbedder
from storage.read_side import ReadSide
from storage.registry import Cube

Candidates = list[tuple[Key, float]]  # (key, channel score), best first


@dataclass(frozen=True)
class SearchRequest:
    query: str
    top_k: int = 10
    filter: SearchFilter = SearchFilter()
    collapse: bool = True
    # Fields of RankingConfig this search sets over the server's ranking (a request's `ranking`).
    ranking: Mapping[str, Any] = field(default_factory=dict)
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
        time_weight=settings.time_weight,
        session_share=settings.session_share,
        speaker_weight=settings.speaker_weight,
        strip_speakers=settings.strip_speakers,
        segment_words=settings.query_segment_words,
    )


class SearchService:
    def __init__(
        self,
        settings: Settings,
        access: Access,
        read: ReadSide,
        embedder: QueryEmbedder,
        on_search: Callable[[str, list[str]], None],
        on_searched: Callable[[str, float], None] = lambda agent, took_ms: None,
        on_timings: Callable[[Mapping[str, float], float], None] = lambda timings_ms, took_ms: None,
        on_retrieved: Callable[[list[tuple[str, str]]], None] = lambda keys: None,
        prefetched: Callable[[list[Cube], np.ndarray, int, SearchFilter], Any] = lambda *search: None,
    ) -> None:
        self._settings, self._access, self._read, self._embedder = settings, access, read, embedder
        self._on_search = on_search  # told which cubes an agent searched (the prefetcher learns from it)
        self._on_searched = on_searched  # told how long each search took (the web UI's p50)
        self._on_timings = on_timings  # told each step's time (service/metrics.py)
        self._on_retrieved = on_retrieved  # told the (cube, id) of each result (never-retrieved cleanup)
        # Memories held ready for this search (service/prefetch.py `Prefetcher.ready`): a stand-in for
        # the ReadSide's vectors and records, or None: the full path.
        self._prefetched = prefetched
        self.default_ranking = ranking_from(settings)
        self._lexical_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bm25")

    def search(self, caller: Caller, req: SearchRequest) -> dict[str, Any]:
        """Exactly the `SearchOut` shape: results, used_tokens, cut, took_ms, timings_ms."""
        clock = _Clock()
        cubes = self._access.search_cubes(caller, list(req.cubes) if req.cubes else None)
        self._on_search(caller.agent, [c.id for c in cubes])
        config = with_overrides(self.default_ranking, req.ranking)
        bm25, vector, read = self._candidates(cubes, req, config, clock)
        fused = fuse_segments(bm25, vector, config)
        clock.lap("fuse")
        # Enough candidates to fill top_k after deleted rows drop out and near duplicates fold.
        fused = fused[: req.top_k * 3 + 10]
        records, duplicate_of, vectors = self._read_for_ranking(fused, req.collapse, config.mmr_lambda is not None, read)
        # Months and people named in the question; in a long query only its latest segment asks it.
        asked = segments(req.query, config.segment_words, config.segment_decay)[-1].text if config.segment_words else req.query
        named = spans(asked) if config.time_weight > 0 else []
        names = NamedIn(asked) if config.speaker_weight > 0 else None
        ranked = ranked_results(fused, records, duplicate_of, vectors, config, req.top_k, named, names)
        clock.lap("fetch")
        results, used, cut = fit_budget(ranked, req.budget or Budget(req.top_k))
        self._on_retrieved([(r["cube"], r["id"]) for r in results])
        took_ms = clock.total()
        self._on_searched(caller.agent, took_ms)
        self._on_timings(clock.laps, took_ms)
        return {"results": results, "used_tokens": used, "cut": cut, "took_ms": took_ms, "timings_ms": clock.laps}

    def _candidates(
        self, cubes: list[Cube], req: SearchRequest, config: RankingConfig, clock: "_Clock"
    ) -> tuple[list[tuple[Candidates, float]], list[tuple[Candidates, float]], Any]:
        """Each channel's best candidates across the cubes, one list per query segment with its weight
        (pipeline/query_segments.py; a short query is one segment), and what the records are read
        from. BM25 runs on helper threads while the query is embedded (both release the GIL), so a
        hybrid search costs about the longer of the two."""
        n = max(self._settings.search_candidates, req.top_k * 3)
        parts = (segments(req.query, config.segment_words, config.segment_decay) if config.segment_words
                 else [Segment(req.query, 1.0)])
        if config.strip_speakers:
            if speakers := self._speakers_named(cubes, parts[-1].text):
                parts = [Segment(without_names(p.text, speakers), p.weight) for p in parts]
            clock.lap("speakers")
        lexical = ([self._lexical_pool.submit(self._bm25, cubes, req, config, n, p.text) for p in parts]
                   if "bm25" in config.channels else [])
        vector: list[tuple[Candidates, float]] = []
        read: Any = self._read
        if "vector" in config.channels:
            query_vectors = [self._embedder.embed(p.text) for p in parts]
            clock.lap("embed")
            read = self._prefetched(cubes, query_vectors[-1], n, req.filter) or self._read
            for part, query_vector in zip(parts, query_vectors):
                found: Candidates = []
                for cube in cubes:
                    hits = read.vector_search(cube.id, cube.shard, query_vector, n, req.filter)
                    found += [((cube.id, i), s) for i, s in hits]
                vector.append((sorted(found, key=lambda c: -c[1])[:n], part.weight))
            clock.lap("vector")
        bm25: list[tuple[Candidates, float]] = []
        if lexical:
            took = 0.0
            for part, job in zip(parts, lexical):
                hits, took_ms = job.result()
                bm25.append((hits, part.weight))
                took = max(took, took_ms)
            clock.laps["bm25"] = took
            clock.lap("bm25_wait")
        return bm25, vector, read

    def _speakers_named(self, cubes: list[Cube], asked: str) -> set[str]:
        """The speakers of these cubes that the question names (pipeline/query_names.py)."""
        candidates = name_candidates(asked)
        found: set[str] = set()
        for cube in cubes:
            with self._read.cube(cube.id) as store:
                if store is not None:
                    found |= store.speakers_among(candidates)
        return found

    def _bm25(self, cubes: list[Cube], req: SearchRequest, config: RankingConfig, n: int,
              text: str) -> tuple[Candidates, float]:
        """One BM25 query (the request's, or one segment of it) per shard, best n overall, and the
        milliseconds it took."""
        start = time.perf_counter()
        by_shard: dict[str, list[str]] = defaultdict(list)
        for cube in cubes:
            by_shard[cube.shard].append(cube.id)
        found: Candidates = []
        for shard, ids in by_shard.items():
            hits = self._read.shard(shard).lexical.search(text, ids, n, req.filter, config.bm25_content_boost)
            found += [((c, i), s) for c, i, s in hits]
        return sorted(found, key=lambda c: -c[1])[:n], round((time.perf_counter() - start) * 1000, 3)

    def _read_for_ranking(
        self, fused: list[Fused], collapse: bool, with_vectors: bool, read: Any = None
    ) -> tuple[dict[Key, MemoryRecord], dict[Key, Key], dict[Key, np.ndarray]]:
        """From each candidate's cube file: its record, its near-duplicate link (when collapsing) and
        its vector (only MMR needs vectors, so they are read only then)."""
        by_cube: dict[str, list[str]] = defaultdict(list)
        for f in fused:
            by_cube[f.key[0]].append(f.key[1])  # type: ignore[index]
        records: dict[Key, MemoryRecord] = {}
        duplicate_of: dict[Key, Key] = {}
        vectors: dict[Key, np.ndarray] = {}
        for cube, ids in by_cube.items():
            with (read or self._read).cube(cube) as store:
                if store is None:
                    continue
                now = now_ms()  # an expired memory leaves search at once, before the sweeper deletes it
                records.update({(cube, i): r for i, r in store.get_many(ids).items() if alive(r, now)})
                if collapse:
                    duplicate_of.update({(cube, src): (cube, dst) for src, dst in store.links_from(ids, "near_duplicate")})
                if with_vectors:
                    vectors.update({(cube, i): v for i, v in store.embeddings(ids).items()})
        return records, duplicate_of, vectors


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
