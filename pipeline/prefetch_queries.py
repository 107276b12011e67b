"""What a session will ask next, from what it just did (pure).

An agent at work asks about what it is doing: the turns it just wrote (the last few together, as a
conversation's context is asked about, and the last one alone), the task of the episode it has
open, and the skills it holds. Each becomes a predicted query whose nearest memories the prefetcher
keeps ready (pipeline/prefetch_pool.py); the agent's own recent searches are predicted queries too,
but as the vectors the searches already had (service/prefetch.py keeps them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RECENT_TURNS = 3  # turns joined into the "what were we just talking about" query
MAX_CHARS = 1_000  # the encoder reads 256 tokens at most; more text only costs time


@dataclass(frozen=True)
class PredictedQuery:
    text: str
    source: str  # recent_turns | last_turn | episode_task | skill


def predicted_queries(recent_turns: Sequence[str], open_tasks: Sequence[str], skills: Sequence[str],
                      max_queries: int = 6) -> list[PredictedQuery]:
    """The likely next queries, most likely first, without repeats; `recent_turns` newest first."""
    turns = [t.strip() for t in recent_turns if t and t.strip()]
    found: list[PredictedQuery] = []
    if turns:
        found.append(PredictedQuery(" ".join(reversed(turns[:RECENT_TURNS]))[-MAX_CHARS:], "recent_turns"))
        found.append(PredictedQuery(turns[0][:MAX_CHARS], "last_turn"))
    found += [PredictedQuery(t.strip()[:MAX_CHARS], "episode_task") for t in open_tasks if t and t.strip()]
    found += [PredictedQuery(s.strip()[:MAX_CHARS], "skill") for s in skills if s and s.strip()]
    seen: set[str] = set()
    unique = []
    for q in found:
        if q.text not in seen:
            seen.add(q.text)
            unique.append(q)
    return unique[:max_queries]


def skill_text(metadata: dict) -> str:
    """A skill as a query: its name and what it is for."""
    return " ".join(str(metadata.get(k) or "") for k in ("name", "description")).strip()
