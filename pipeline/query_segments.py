"""Long queries: an agent often sends its last few turns (hundreds of words) as the query, not one clean
question. Such a query is cut into segments (its lines, long lines into sentence packs), each searched
on its own and fused, the latest segment weighted most, rather than one bag of words whose filler
drowns the question, or one embedding silently cut at the model's 256 tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
MAX_SEGMENTS = 8  # the latest ones; older context counts for little and each segment costs a search


@dataclass(frozen=True)
class Segment:
    text: str
    weight: float  # the latest segment 1.0; each one before it `decay` times the next


def _packs(line: str, max_words: int) -> list[str]:
    """A line cut at sentence ends into packs of at most `max_words` words (a longer sentence alone)."""
    packs: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE.split(line):
        words = sentence.split()
        if current and len(current) + len(words) > max_words:
            packs.append(" ".join(current))
            current = []
        current += words
    if current:
        packs.append(" ".join(current))
    return packs


def segments(query: str, max_words: int = 48, decay: float = 0.3) -> list[Segment]:
    """The query's segments, oldest first, with their weights; a short query is one segment of weight 1."""
    if len(query.split()) <= max_words and "\n" not in query.strip():
        return [Segment(query, 1.0)]
    parts = [p for line in query.splitlines() if line.strip() for p in _packs(line.strip(), max_words)]
    parts = parts[-MAX_SEGMENTS:] or [query]
    n = len(parts)
    return [Segment(text, decay ** (n - 1 - i)) for i, text in enumerate(parts)]
