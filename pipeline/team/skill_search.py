"""Ranking the team's shared skills for a query: word overlap and vector cosine, fused by rank (pure).

The hub holds at most a few thousand shared skills, so an exact scan beats keeping an index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
RRF_K = 60


@dataclass(frozen=True)
class SharedSkillText:
    key: str
    text: str
    vector: np.ndarray | None


def words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def rank_skills(query: str, query_vector: np.ndarray | None, skills: Sequence[SharedSkillText],
                top_k: int) -> list[tuple[str, float]]:
    """(key, score) of the best `top_k`: reciprocal-rank fusion of word overlap and cosine."""
    terms = words(query)
    lexical = [(s.key, len(terms & words(s.text)) / (len(terms) or 1)) for s in skills]
    ranked_lex = [k for k, score in sorted(lexical, key=lambda kv: -kv[1]) if score > 0]
    ranked_vec: list[str] = []
    if query_vector is not None:
        q = query_vector / (np.linalg.norm(query_vector) or 1.0)
        cos = [(s.key, float(np.dot(q, s.vector / (np.linalg.norm(s.vector) or 1.0))))
               for s in skills if s.vector is not None and s.vector.shape == q.shape]
        ranked_vec = [k for k, _ in sorted(cos, key=lambda kv: -kv[1])]
    fused: dict[str, float] = {}
    for ranking in (ranked_lex, ranked_vec):
        for rank, key in enumerate(ranking):
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
