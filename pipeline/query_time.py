"""Time expressions in a query ("in June", "in July 2023", "on October 13, 2023"): the spans of time
they name, so memories written then can rank higher (a boost, never a filter: the words may mean
something else, and an event is often told a little after it happened).

Only month names written with a capital letter count ("May" the month, not "may" the verb), with an
optional year ("October 13, 2023" and "13 May, 2023" name their month and year; days are not used:
a conversation tells an event days after it). A month without a year matches that month in any year.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timezone

MONTHS = {name: i for i, name in enumerate(calendar.month_name) if name}
_MONTH = "|".join(MONTHS)
_EXPR = re.compile(rf"\b({_MONTH})\b(?:\s+\d{{1,2}}(?!\d)(?:st|nd|rd|th)?)?(?:,?\s+(\d{{4}}))?")
LATE_DAYS = 10  # an event is often told in a conversation some days after it happened
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Span:
    month: int
    year: int | None = None  # None: that month of any year

    def contains(self, when_ms: int, late_days: int = LATE_DAYS) -> bool:
        """Whether a memory written at `when_ms` is of this span, or told up to `late_days` after it."""
        for lag in (0, late_days):
            t = datetime.fromtimestamp((when_ms - lag * DAY_MS) / 1000, tz=timezone.utc)
            if t.month == self.month and (self.year is None or t.year == self.year):
                return True
        return False


def spans(query: str) -> list[Span]:
    """The month spans a query names, each once, in order of appearance."""
    found = [Span(MONTHS[m.group(1)], int(m.group(2)) if m.group(2) else None) for m in _EXPR.finditer(query)]
    return list(dict.fromkeys(found))


def time_factor(when_ms: int, named: list[Span], weight: float) -> float:
    """1 + weight when a memory falls in a span the query names; 1 otherwise (or when none is named)."""
    if not named or weight <= 0:
        return 1.0
    return 1.0 + weight if any(s.contains(when_ms) for s in named) else 1.0
