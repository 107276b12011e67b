"""A search's results as the API returns them: each memory with its score and `why` it ranks there,
and `ranked_results`, the ranking steps from fused candidates to the top_k results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pipeline.query_time import Span
from pipeline.ranking.boosts import Key, NamesPerson, boost
from pipeline.ranking.config import RankingConfig
from pipeline.ranking.folding import Folded, fold_near_duplicates
from pipeline.ranking.fusion import Fused
from pipeline.ranking.mmr import diversify
from pipeline.ranking.sessions import credit_sessions
from pipeline.records import MemoryRecord
from pipeline.timefmt import to_iso


def ranked_results(
    fused: Sequence[Fused],
    records: Mapping[Key, MemoryRecord],
    duplicate_of: Mapping[Key, Key],
    vectors: Mapping[Key, np.ndarray],
    config: RankingConfig,
    top_k: int,
    named: Sequence[Span] = (),
    names: NamesPerson | None = None,
) -> list[dict[str, Any]]:
    """The top_k results (before the budget) from the fused candidates and what was read for them:
    their records, near-duplicate links (empty: no folding) and vectors (needed only for MMR); `named`
    and `names`: the months and the people the query names (the time and speaker boosts)."""
    ranked = credit_sessions(boost(fused, records, config, named, names), config.session_share)
    # MMR picks top_k from a wider pool; otherwise the first top_k are the answer.
    pool = top_k if config.mmr_lambda is None else len(ranked)
    results = [to_result(folded) for folded in fold_near_duplicates(ranked, duplicate_of, pool)]
    if config.mmr_lambda is not None and results:
        results = diversify(results, vectors, config.mmr_lambda, top_k)
    return results[:top_k]


def to_result(folded: Folded) -> dict[str, Any]:
    """One result, exactly the `SearchHit` shape (the route serialises it without validating it)."""
    head, rec = folded.head, folded.head.record
    f = head.fused
    return {
        "id": head.key[1],
        "cube": head.key[0],
        "content": rec.content,
        "score": round(head.score, 6),
        "scores": {"bm25": f.bm25, "vector": f.vector, "feedback": rec.feedback},
        "why": {
            "bm25": _channel(f.bm25_rank, f.bm25),
            "vector": _channel(f.vector_rank, f.vector),
            "fusion": round(f.score, 6),
            "boosts": {k: round(v, 4) for k, v in head.boosts.items()},
            "mmr_rank": None,
        },
        "tokens": int(rec.tokens or 0),
        "kind": rec.kind,
        "tier": rec.tier,
        "tags": rec.tags,
        "metadata": rec.metadata,
        "created_at": to_iso(rec.created_at),
        "near_duplicates": folded.near_duplicates,
    }


def _channel(rank: int | None, score: float | None) -> dict[str, Any] | None:
    return None if rank is None else {"rank": rank, "score": round(float(score or 0.0), 6)}
