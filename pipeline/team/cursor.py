"""The position of a replica in a cube's history: a snapshot walk first, then the change feed.

A fresh replica (or one whose feed position the hub no longer keeps) walks the cube's memories in
(created_at, id) order from a snapshot, noting the change seq the walk started at; after the last
page it follows the change feed from that seq. Each page is idempotent (memories carry their whole
state), so a page applied twice, after a cut connection, changes nothing. A snapshot page also
names the key range it covers, so the member drops what it holds in that range and the page lacks
(how deletes reach a replica that starts over).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.errors import Invalid

CURSOR_PATTERN = r"^(|snap\.[0-9]{1,19}\.-?[0-9]{1,19}\.[A-Za-z0-9_.:-]{0,128}|feed\.[0-9]{1,19})$"
_SNAP = re.compile(r"snap\.([0-9]{1,19})\.(-?[0-9]{1,19})\.([A-Za-z0-9_.:-]{0,128})")
_FEED = re.compile(r"feed\.([0-9]{1,19})")
LOWEST_KEY = (-(2**62), "")


@dataclass(frozen=True)
class Position:
    """`snapshot`: walking memories after `key`, the walk having begun at change `seq`; else the feed after `seq`."""

    snapshot: bool
    seq: int
    key: tuple[int, str] = LOWEST_KEY

    def text(self) -> str:
        if self.snapshot:
            return f"snap.{self.seq}.{self.key[0]}.{self.key[1]}"
        return f"feed.{self.seq}"


START = Position(True, 0)


def parse_cursor(text: str) -> Position | None:
    """None for the empty cursor (start: the hub opens a snapshot at its current seq)."""
    if text == "":
        return None
    if (m := _SNAP.fullmatch(text)) is not None:
        return Position(True, int(m.group(1)), (int(m.group(2)), m.group(3)))
    if (m := _FEED.fullmatch(text)) is not None:
        return Position(False, int(m.group(1)))
    raise Invalid(f"cursor {text[:40]!r} is not a replication cursor")


def lag(position: Position | None, hub_last: int) -> int:
    """Changes the replica has yet to apply; a snapshot walk is behind by everything until it ends."""
    if position is None or position.snapshot:
        return max(hub_last, 1)
    return max(0, hub_last - position.seq)
