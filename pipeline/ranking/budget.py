"""The last cut of a search: results in rank order while they fit what the caller can take in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    """What a caller can take in: at most this many memories and (if set) this many tokens."""

    max_memories: int = 10
    max_tokens: int | None = None


def fit_budget(ranked: list[dict[str, Any]], budget: Budget) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    """(kept, tokens used, cut): one too large is cut and smaller ones after it may still fit;
    each cut result says which limit cut it."""
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
