"""Session credit: a candidate gains a share of the best score among the other candidates of its
session, so a conversation that clearly holds the answer lifts its other turns (max over turns at
the session level, fused with each turn's own score).

A session here is what the context step calls a thread: same cube and episode, consecutive
candidates no further apart in time than a gap. Only candidates are grouped (no extra reads), so it
costs a sort of at most a few dozen rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipeline.ranking.boosts import Boosted

SESSION_GAP_MS = 30 * 60 * 1000


def sessions_of(ranked: Sequence[Boosted], gap_ms: int = SESSION_GAP_MS) -> list[list[int]]:
    """Indices into `ranked` grouped into sessions: same cube and episode, chained by time gaps <= gap_ms."""
    order = sorted(range(len(ranked)), key=lambda i: (ranked[i].key[0], ranked[i].record.episode or "",
                                                        ranked[i].record.created_at))
    groups: list[list[int]] = []
    last: tuple[str, str, int] | None = None
    for i in order:
        rec = ranked[i].record
        here = (ranked[i].key[0], rec.episode or "", rec.created_at)
        if last is None or here[:2] != last[:2] or here[2] - last[2] > gap_ms:
            groups.append([])
        groups[-1].append(i)
        last = here
    return groups


def credit_sessions(ranked: Sequence[Boosted], share: float, gap_ms: int = SESSION_GAP_MS) -> list[Boosted]:
    """Each candidate's score plus `share` x the best other score in its session, best first; the
    credit shows in `why.boosts.session` as the multiplier it amounts to."""
    if share <= 0 or len(ranked) < 2:
        return list(ranked)
    out = list(ranked)
    for group in sessions_of(ranked, gap_ms):
        if len(group) < 2:
            continue
        scores = sorted(((ranked[i].score, i) for i in group), reverse=True)
        for i in group:
            best_other = scores[1][0] if scores[0][1] == i else scores[0][0]
            own = ranked[i].score
            if own <= 0:
                continue
            factor = (own + share * best_other) / own
            b = ranked[i]
            out[i] = replace(b, boosts={**b.boosts, "session": round(factor, 4)}, factor=b.factor * factor)
    return sorted(out, key=lambda b: -b.score)
