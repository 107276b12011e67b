"""Times: stored as integer milliseconds since the epoch (UTC), shown as ISO 8601 with a Z.

Only the milliseconds that a datetime can show are representable: from 0001-01-01T00:00:00.000Z
to 9999-12-31T23:59:59.999Z. A time outside them was once accepted (a year-1 time with a +14:00
offset is year 0 in UTC) and from then on every read that showed it failed (issue 13); now both
conversions refuse one, and client times are checked against the same range at the boundary
(pipeline/input_bounds.py).
"""

from __future__ import annotations

import operator
import time
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // _MS  # -62135596800000
MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - EPOCH) // _MS  # 253402300799999


class TimeOutOfRange(ValueError):
    """A time that no ISO 8601 year 1-9999 can show."""


def now_ms() -> int:
    return int(time.time() * 1000)


def representable(ms: object) -> bool:
    """Whether a stored value is a time this module can show (an integer within MIN_MS..MAX_MS)."""
    try:
        value = operator.index(ms)  # ints, numpy ints; not floats, text or None
    except TypeError:
        return False
    return MIN_MS <= value <= MAX_MS


def to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a time without a zone is taken as UTC
    ms = (value - EPOCH) // _MS  # exact integer arithmetic: no float rounding at the ends of the range
    if not MIN_MS <= ms <= MAX_MS:
        raise TimeOutOfRange(f"{value.isoformat()} is outside years 1-9999 in UTC")
    return ms


def to_iso(ms: int) -> str:
    if not representable(ms):
        raise TimeOutOfRange(f"{ms!r} is not a time in milliseconds within years 1-9999")
    return (EPOCH + operator.index(ms) * _MS).isoformat(timespec="milliseconds").replace("+00:00", "Z")
