"""Reading a cube for replication: snapshot pages in (created_at, id) order, change-feed pages by
seq, each memory with its vector, versions and links; and the keys a replica holds in a range.

A page is read inside one read transaction, so it is one consistent view of the cube.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.records import MemoryRecord
from storage.cube.bundle_reader import BundleReader
from storage.cube.schema import RECORD_COLUMNS, chunks, record_from


@dataclass(frozen=True)
class FeedRow:
    record: MemoryRecord
    vector: bytes | None
    model: str | None


@dataclass(frozen=True)
class FeedPage:
    rows: list[FeedRow]
    gone: list[str]  # ids changed in this page that no longer exist
    versions: dict[str, list[dict[str, Any]]]
    links: dict[str, list[dict[str, Any]]]
    superseded_by: dict[str, str]
    last_change: int
    oldest_change: int | None
    end_seq: int  # feed pages: the last seq this page covers
    more: bool


class FeedReader(BundleReader):
    """A read connection that serves replication pages (hub side) and range keys (member side)."""

    def last_and_oldest(self) -> tuple[int, int | None]:
        row = self._conn.execute("SELECT coalesce(max(seq), 0), min(seq) FROM changes").fetchone()
        return int(row[0]), (int(row[1]) if row[1] is not None else None)

    def _page(self, rows: list[FeedRow], gone: list[str], end_seq: int, more: bool) -> FeedPage:
        ids = [r.record.id for r in rows]
        last, oldest = self.last_and_oldest()
        return FeedPage(rows, gone, self.versions_of(ids), self.links_by_src(ids), self.superseders(ids), last,
                        oldest, end_seq, more)

    def snapshot_page(self, after: tuple[int, str], limit: int) -> FeedPage:
        """Memories (any status) after `after` in (created_at, id) order; `more` if the walk goes on."""
        raw = list(self._conn.execute(
            f"SELECT {RECORD_COLUMNS}, embedding, embed_model FROM memories WHERE (created_at, id) > (?, ?) "
            "ORDER BY created_at, id LIMIT ?", (*after, limit + 1)))
        more = len(raw) > limit
        rows = [FeedRow(record_from(r[:-2]), r[-2], r[-1]) for r in raw[:limit]]
        return self._page(rows, [], 0, more)

    def feed_page(self, after_seq: int, limit: int) -> FeedPage:
        """The memories changed after `after_seq`, up to `limit` changes, in their current state."""
        changes = list(self._conn.execute("SELECT seq, memory_id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                                          (after_seq, limit + 1)))
        more = len(changes) > limit
        changes = changes[:limit]
        end = int(changes[-1][0]) if changes else after_seq
        ids = list(dict.fromkeys(c[1] for c in changes))
        found = self.rows_by_id(ids)
        return self._page([found[i] for i in ids if i in found], [i for i in ids if i not in found], end, more)

    def rows_by_id(self, ids: Sequence[str]) -> dict[str, FeedRow]:
        out: dict[str, FeedRow] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for r in self._conn.execute(
                    f"SELECT {RECORD_COLUMNS}, embedding, embed_model FROM memories WHERE id IN ({marks})", chunk):
                rec = record_from(r[:-2])
                out[rec.id] = FeedRow(rec, r[-2], r[-1])
        return out

    def keys_between(self, low: tuple[int, str], high: tuple[int, str] | None) -> list[str]:
        """Ids in (low, high] by (created_at, id); no `high`: everything after `low`."""
        if high is None:
            sql, args = "SELECT id FROM memories WHERE (created_at, id) > (?, ?)", (*low,)
        else:
            sql, args = ("SELECT id FROM memories WHERE (created_at, id) > (?, ?) AND (created_at, id) <= (?, ?)",
                         (*low, *high))
        return [r[0] for r in self._conn.execute(sql, args)]

    def existing(self, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            out |= {r[0] for r in self._conn.execute(f"SELECT id FROM memories WHERE id IN ({marks})", chunk)}
        return out
