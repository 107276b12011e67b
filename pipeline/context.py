"""Neighbouring-turn context: the text BM25 indexes for a trace together with the turns around it.

A fact is often split across an exchange ("What did you research?" / "Adoption agencies."), so a
turn is also findable by the words of its neighbours. Neighbours are the adjacent active message traces of
the same thread (same cube and episode, ordered by time, then arrival), no further apart in time
than a gap, so separate conversations never leak into each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ThreadRow:
    id: str
    text: str
    created_at: int
    seq: int
    episode: str | None
    active: bool = True

    @property
    def order(self) -> tuple[int, int]:
        return (self.created_at, self.seq)


@dataclass(frozen=True)
class ContextWindow:
    before: int = 2
    after: int = 2
    gap_ms: int = 30 * 60 * 1000

    @property
    def reach(self) -> int:
        """How far either side a change is felt: a row's window, plus the windows that contain it."""
        return self.before + self.after


def threads(rows: Iterable[ThreadRow], keep: set[str] = frozenset()) -> list[list[ThreadRow]]:
    """Active rows (and those in `keep`) grouped by episode, each thread in time order, each row once."""
    by_episode: dict[str | None, dict[str, ThreadRow]] = {}
    for row in rows:
        if row.active or row.id in keep:
            by_episode.setdefault(row.episode, {})[row.id] = row
    return [sorted(group.values(), key=lambda r: r.order) for group in by_episode.values()]


def neighbours(thread: Sequence[ThreadRow], index: int, window: ContextWindow) -> list[ThreadRow]:
    """The rows around thread[index] inside the window, in thread order, without the row itself."""
    own = thread[index]
    lo, hi = max(0, index - window.before), min(len(thread), index + window.after + 1)
    return [
        thread[j] for j in range(lo, hi)
        if j != index and abs(thread[j].created_at - own.created_at) <= window.gap_ms
    ]


def context_text(own: ThreadRow, around: Sequence[ThreadRow]) -> str:
    """The row's own text first, then its neighbours' in order: what the `context` field indexes."""
    return "\n".join([own.text, *(r.text for r in around)])


def contexts(rows: Iterable[ThreadRow], targets: set[str] | None, window: ContextWindow) -> dict[str, str]:
    """Context text for each target id (None: every row) found active in `rows`.

    `rows` must hold every row within `window.before`/`window.after` of each target in its thread
    (a contiguous span), or the windows at the span's edges come out short.
    """
    out: dict[str, str] = {}
    for thread in threads(rows):
        for i, row in enumerate(thread):
            if targets is None or row.id in targets:
                out[row.id] = context_text(row, neighbours(thread, i, window))
    return out


def affected(rows: Iterable[ThreadRow], changed: set[str], window: ContextWindow) -> set[str]:
    """Active ids whose context must be rebuilt: the changed rows and every row that had one in its window.

    A changed row that is no longer active (deleted, now a duplicate) still counts where it stood.
    """
    out: set[str] = set()
    for thread in threads(rows, keep=changed):
        for i, row in enumerate(thread):
            if row.active and (row.id in changed or any(n.id in changed for n in neighbours(thread, i, window))):
                out.add(row.id)
    return out
