"""The long-query view of the retrieval harnesses: each question as an agent would send it, at the end
of a few turns of unrelated chat (its recent context), rather than as a clean question.

The filler turns come from another conversation of the same data set, picked deterministically per
question, so the view is the same on every run and shares no words with the question by design.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_QUERY_CHARS = 4096  # the API's limit on a search query
FILLER_TURNS = 4


def wrap_in_chat(question: str, own_group: str, pool: dict[str, Sequence[str]], index: int,
                 turns: int = FILLER_TURNS) -> str:
    """`question` after `turns` consecutive lines of chat taken from a group (conversation) other
    than `own_group`; the oldest filler lines give way first when it would exceed the API limit."""
    groups = sorted(g for g in pool if g != own_group and len(pool[g]) >= turns)
    if not groups:
        return question
    lines = pool[groups[index % len(groups)]]
    start = (index * 7919) % (len(lines) - turns + 1)
    filler = list(lines[start : start + turns])
    while filler and len("\n".join([*filler, question])) > MAX_QUERY_CHARS:
        filler.pop(0)
    return "\n".join([*filler, question])[-MAX_QUERY_CHARS:]
