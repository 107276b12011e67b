"""Reading a cube file: records, threads, lists, links, versions, the change feed, tier tables.

A reader never writes; it opens only a file that exists. The `changes` table is a feed that
in-memory caches (hot vectors, dedupe state) follow to stay current.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from pipeline.context import ThreadRow
from pipeline.errors import Invalid
from pipeline.records import IndexRow, MemoryRecord, Status, Tier
from pipeline.world_model import StoredFact
from pipeline.world_facts.fact import WorldFact
from storage.cube.images import ImageReads
from storage.cube.schema import (
    CONTEXT_KIND, INDEX_COLUMNS, RECORD_COLUMNS, RECORD_POSITION, SPEAKER_KEY, THREAD_COLUMNS, UnreadableRecord, chunks,
    index_row_from, record_from, thread_row_from,
)
from storage.sqlite import connect

log = logging.getLogger(__name__)
_REPORTED: set[tuple[str, str]] = set()


class _Undecodable(tuple):
    """A row whose text is not UTF-8: only its time and id (its place in a listing) could be read."""


def _position(row: Sequence[Any]) -> tuple[int, str] | None:
    """A raw row's (created_at, id), the keys lists and exports page by, when they are usable."""
    created_at, memory_id = row[RECORD_POSITION[0]], row[RECORD_POSITION[1]]
    return (created_at, memory_id) if type(created_at) is int and isinstance(memory_id, str) else None


@dataclass(frozen=True)
class ListPage:
    items: list[MemoryRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class ChangeFeed:
    """Changes after a cache's position: `reset` means start over from every active row."""

    seq: int
    upserts: list[IndexRow]
    deletes: list[str]
    reset: bool


# A list position: the last row's time and id. Its pattern is in the OpenAPI, and every string that
# matches it is a position (issue 13: an opaque base64 cursor made most schema-valid cursors a 422).
CURSOR_PATTERN = r"^-?[0-9]{1,15}[.][A-Za-z0-9_.:-]{0,128}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(created_at: int, memory_id: str) -> str:
    return f"{created_at}.{memory_id}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    if not _CURSOR.fullmatch(cursor):
        raise Invalid("cursor is not one this server issued")
    created_at, _, memory_id = cursor.partition(".")
    return int(created_at), memory_id


# One index seek per name: the names drive (json_each) and the speaker index answers EXISTS. A
# DISTINCT over `key IN (...)` was planned as a walk of every trace by the tier index instead: 15 ms
# of a 23 ms search at 10k memories, and growing with the cube.
SPEAKERS_AMONG = ("SELECT value FROM json_each(?) WHERE EXISTS "
                  f"(SELECT 1 FROM memories WHERE tier = 'trace' AND {SPEAKER_KEY} = value)")


class CubeReader(ImageReads):
    """A read connection to one cube's file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise FileNotFoundError(path)
        self._conn = connect(path, synchronous="NORMAL")

    def close(self) -> None:
        self._conn.close()

    def get(self, memory_id: str) -> MemoryRecord | None:
        """The record, or None if there is none or it cannot be read (logged: `memos repair` fixes it)."""
        records = self._records(f"SELECT {RECORD_COLUMNS} FROM memories WHERE id = ?", (memory_id,))
        return records[0] if records else None

    def get_many(self, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        out: dict[str, MemoryRecord] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for rec in self._records(f"SELECT {RECORD_COLUMNS} FROM memories WHERE id IN ({marks})", chunk):
                out[rec.id] = rec
        return out

    # --- reading records, damaged ones skipped -------------------------------------------------

    def _records(self, sql: str, args: Sequence[Any]) -> list[MemoryRecord]:
        """The records a `SELECT {RECORD_COLUMNS}` finds, in its order, leaving out (and logging) any
        that cannot be shown: one damaged row never takes down a read of its cube (issue 13)."""
        return [rec for rec in map(self._record, self._rows(sql, args)) if rec is not None]

    def _rows(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        """The raw rows, one per row found: a row that cannot be decoded stands as an `_Undecodable`,
        so that pages still count it and still end at it."""
        try:
            return list(self._conn.execute(sql, args))
        except UnicodeDecodeError:
            # Text that is not UTF-8 stops a whole statement: find the rows again, then read them one by one.
            rows: list[Sequence[Any]] = []
            for (rowid,) in list(self._conn.execute(sql.replace(RECORD_COLUMNS, "rowid", 1), args)):
                try:
                    rows.append(self._conn.execute(f"SELECT {RECORD_COLUMNS} FROM memories WHERE rowid = ?",
                                                   (rowid,)).fetchone())
                except UnicodeDecodeError as exc:
                    rows.append(self._undecodable(rowid, exc))
            return rows

    def _undecodable(self, rowid: int, exc: UnicodeDecodeError) -> _Undecodable:
        values: list[Any] = [None] * len(RECORD_COLUMNS.split(", "))
        try:
            values[RECORD_POSITION[0]], values[RECORD_POSITION[1]] = self._conn.execute(
                "SELECT created_at, id FROM memories WHERE rowid = ?", (rowid,)).fetchone()
        except UnicodeDecodeError:  # the id itself: the row keeps no usable position
            values[RECORD_POSITION[1]] = f"at rowid {rowid}"
        self._report(values[RECORD_POSITION[1]], f"text that is not UTF-8 ({exc.reason})")
        return _Undecodable(values)

    def _record(self, row: Sequence[Any]) -> MemoryRecord | None:
        if isinstance(row, _Undecodable):
            return None  # reported when it was read
        try:
            return record_from(row)
        except UnreadableRecord as exc:
            self._report(exc.memory_id, exc.reason)
            return None

    def _report(self, memory_id: object, reason: str) -> None:
        key = (str(self.path), str(memory_id))
        if key not in _REPORTED:  # once per process: a damaged row in a busy list would flood the log
            _REPORTED.add(key)
            log.error("cube %s: memory %s cannot be read (%s); left out of reads until `memos repair` fixes it",
                      self.path.stem, memory_id, reason)

    def thread_around(self, ids: Sequence[str], reach: int, gap_ms: int) -> list[ThreadRow]:
        """Each conversation turn's own row (any status) and up to `reach` active turns either side in its thread.

        Turns are message traces: a burst of notes or tool calls is not an exchange, and their
        neighbours' words would only blur which one a query means.
        """
        out: dict[str, ThreadRow] = {}
        for memory_id in ids:
            own = self._conn.execute(
                f"SELECT {THREAD_COLUMNS} FROM memories WHERE id = ? AND kind = ?", (memory_id, CONTEXT_KIND)
            ).fetchone()
            if own is None or own[6] != "trace":
                continue
            out[own[0]] = thread_row_from(own)
            for row in self._adjacent(own, reach, gap_ms, kind=CONTEXT_KIND):
                out.setdefault(row[0], thread_row_from(row))
        return list(out.values())

    def thread_rows(self) -> Iterator[ThreadRow]:
        """Every active conversation turn, for rebuilding contexts from scratch."""
        for row in self._conn.execute(
            f"SELECT {THREAD_COLUMNS} FROM memories WHERE tier = 'trace' AND status = 'active' AND kind = ?",
            (CONTEXT_KIND,),
        ):
            yield thread_row_from(row)

    def timeline(self, memory_id: str, before: int, after: int) -> tuple[list[MemoryRecord], int] | None:
        """The memory and its active neighbours in its thread (same tier and episode), oldest first,
        with the memory's position in that list; None if there is no such memory."""
        own = self._conn.execute(f"SELECT {THREAD_COLUMNS} FROM memories WHERE id = ?", (memory_id,)).fetchone()
        if own is None:
            return None
        earlier = [r[0] for r in self._adjacent(own, before, None, later=False)][::-1]
        later = [r[0] for r in self._adjacent(own, after, None, earlier=False)]
        records = self.get_many([*earlier, own[0], *later])
        if own[0] not in records:
            return None  # it cannot be read (logged); its neighbours are still shown in their own timelines
        ordered = [records[i] for i in [*earlier, own[0], *later] if i in records]
        return ordered, sum(1 for i in earlier if i in records)

    def _adjacent(
        self, own: Sequence[Any], limit: int, gap_ms: int | None, earlier: bool = True, later: bool = True,
        kind: str | None = None,
    ) -> list[Sequence[Any]]:
        """Active rows of `own`'s thread (of one kind, if given) just before and/or after it, nearest first."""
        _, _, created_at, seq, episode, _, tier = own
        of_kind = "AND kind = ? " if kind is not None else ""
        rows: list[Sequence[Any]] = []
        for side, wanted in (("<", earlier), (">", later)):
            if not wanted or limit <= 0:
                continue
            order, near = ("DESC", ">=") if side == "<" else ("ASC", "<=")
            within = f"AND created_at {near} ? " if gap_ms is not None else ""
            bound = [created_at - gap_ms if side == "<" else created_at + gap_ms] if gap_ms is not None else []
            rows += list(self._conn.execute(
                f"SELECT {THREAD_COLUMNS} FROM memories WHERE tier = ? {of_kind}AND episode IS ? "
                f"AND status = 'active' AND (created_at, intake_seq) {side} (?, ?) {within}"
                f"ORDER BY created_at {order}, intake_seq {order} LIMIT ?",
                (tier, *([kind] if kind is not None else []), episode, created_at, seq, *bound, limit),
            ))
        return rows

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for memory_id, blob in self._conn.execute(
                f"SELECT id, embedding FROM memories WHERE embedding IS NOT NULL AND id IN ({marks})", chunk
            ):
                out[memory_id] = np.frombuffer(blob, dtype=np.float32)
        return out

    def exists(self, memory_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM memories WHERE id = ?", (memory_id,)).fetchone() is not None

    def active_count(self) -> int:
        """Searchable memories, kept by triggers (no scan)."""
        row = self._conn.execute("SELECT value FROM stats WHERE key = 'active'").fetchone()
        return int(row[0]) if row else 0

    def count(self, status: str | None = Status.ACTIVE.value) -> int:
        if status is None:
            return int(self._conn.execute("SELECT count(*) FROM memories").fetchone()[0])
        return int(self._conn.execute("SELECT count(*) FROM memories WHERE status = ?", (status,)).fetchone()[0])

    def list(
        self,
        *,
        limit: int,
        cursor: str | None = None,
        tag: str | None = None,
        kind: str | None = None,
        status: str | None = Status.ACTIVE.value,
        tier: str | None = None,
        alive_at: int | None = None,
    ) -> ListPage:
        """Newest first; fetches one extra row to know whether a next page exists. With `alive_at`,
        memories expired by then are left out."""
        where, args = [], []
        if alive_at is not None:
            where.append("(expires_at IS NULL OR expires_at > ?)")
            args.append(alive_at)
        for column, value in (("tier", tier), ("kind", kind), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if tag is not None:
            where.append("id IN (SELECT memory_id FROM memory_tags WHERE tag = ?)")
            args.append(tag)
        if cursor is not None:
            created_at, memory_id = decode_cursor(cursor)
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            args += [created_at, created_at, memory_id]
        sql = f"SELECT {RECORD_COLUMNS} FROM memories"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        rows = self._rows(sql, (*args, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        records = [rec for rec in map(self._record, rows) if rec is not None]
        # The page ends at its last row, read or not, so a damaged row never ends the listing early.
        last = _position(rows[-1]) if rows else None
        if last is None and records:
            last = (records[-1].created_at, records[-1].id)
        next_cursor = encode_cursor(*last) if more and last is not None else None
        return ListPage(records, next_cursor)

    def iter_records(self, batch_size: int = 1_000) -> Iterator[MemoryRecord]:
        """Every memory of the cube (any status), oldest first, for export; damaged rows are left out and logged."""
        # The first page has no lower bound: a start of (-1, "") once left out every memory before 1970.
        rows = self._rows(f"SELECT {RECORD_COLUMNS} FROM memories ORDER BY created_at, id LIMIT ?", (batch_size,))
        while rows:
            yield from (rec for rec in map(self._record, rows) if rec is not None)
            after = next((p for p in map(_position, reversed(rows)) if p is not None), None)
            if after is None:
                return
            rows = self._rows(f"SELECT {RECORD_COLUMNS} FROM memories WHERE (created_at, id) > (?, ?) "
                              "ORDER BY created_at, id LIMIT ?", (*after, batch_size))

    def links_from(self, ids: Sequence[str], link_type: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            out += [
                (r[0], r[1])
                for r in self._conn.execute(
                    f"SELECT src, dst FROM links WHERE type = ? AND src IN ({marks})", (link_type, *chunk)
                )
            ]
        return out

    def links_of(self, memory_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT src, type, dst, created_at FROM links WHERE src = ? UNION ALL "
            "SELECT src, type, dst, created_at FROM links WHERE dst = ?",
            (memory_id, memory_id),
        )
        return [{"src": r[0], "type": r[1], "dst": r[2], "created_at": r[3]} for r in rows]

    def versions(self, memory_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT version, kind, content, tags, metadata, updated_at FROM memory_versions "
            "WHERE id = ? ORDER BY version",
            (memory_id,),
        )
        return [
            {"version": r[0], "kind": r[1], "content": r[2], "tags": orjson.loads(r[3]),
             "metadata": orjson.loads(r[4]), "updated_at": r[5]}
            for r in rows
        ]

    def last_change(self) -> int:
        return int(self._conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0])

    def changes_since(self, seq: int) -> ChangeFeed:
        """Index rows changed after `seq` (active rows to upsert, the rest to drop)."""
        oldest = self._conn.execute("SELECT min(seq) FROM changes").fetchone()[0]
        last = self.last_change()
        if seq == 0 or (oldest is not None and seq < oldest - 1):
            return ChangeFeed(last, list(self.index_rows()), [], reset=True)
        ids = [r[0] for r in self._conn.execute("SELECT DISTINCT memory_id FROM changes WHERE seq > ?", (seq,))]
        rows = {r.id: r for r in self.index_rows_for(ids)}
        upserts = [r for r in rows.values() if r.status == Status.ACTIVE]
        deletes = [i for i in ids if i not in rows or rows[i].status != Status.ACTIVE]
        return ChangeFeed(last, upserts, deletes, reset=False)

    def index_rows(self, batch_size: int = 2_000) -> Iterator[IndexRow]:
        """Every searchable (active) row with what the derived indexes need."""
        last = ""
        while True:
            rows = list(
                self._conn.execute(
                    f"SELECT {INDEX_COLUMNS} FROM memories WHERE status = 'active' AND id > ? ORDER BY id LIMIT ?",
                    (last, batch_size),
                )
            )
            if not rows:
                return
            yield from (r for r in map(self._index_row, rows) if r is not None)
            last = rows[-1][0]

    def index_arrays(self, batch_size: int = 20_000) -> Iterator[dict[str, Any]]:
        """Active rows in column chunks (ids, kinds, tiers, tags, created_at, vectors), for bulk loads."""
        last = ""
        while True:
            rows = list(self._conn.execute(
                "SELECT id, kind, tier, tags, created_at, embedding FROM memories "
                "WHERE status = 'active' AND embedding IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
                (last, batch_size)))
            if not rows:
                return
            last = rows[-1][0]
            kept, tags = [], []
            # The vectors' width is what most rows have: a damaged first row must not set it.
            width = (Counter(len(r[5]) for r in rows if isinstance(r[5], bytes)).most_common(1) or [(0, 0)])[0][0]
            for r in rows:
                try:
                    row_tags = orjson.loads(r[3])
                except (orjson.JSONDecodeError, TypeError):
                    row_tags = None
                if not isinstance(row_tags, list) or type(r[4]) is not int or not isinstance(r[5], bytes) \
                        or len(r[5]) != width:
                    self._report(r[0], "its tags, time or vector cannot be loaded")
                    continue
                kept.append(r)
                tags.append(row_tags)
            if not kept:
                continue
            yield {
                "ids": [r[0] for r in kept],
                "kinds": [r[1] for r in kept],
                "tiers": [r[2] for r in kept],
                "tags": tags,
                "created_at": np.fromiter((r[4] for r in kept), dtype=np.int64, count=len(kept)),
                "vectors": np.frombuffer(b"".join(r[5] for r in kept), dtype=np.float32).reshape(len(kept), -1),
            }

    def index_rows_for(self, ids: Sequence[str]) -> list[IndexRow]:
        out = []
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            out += [r for r in map(self._index_row, self._conn.execute(
                f"SELECT {INDEX_COLUMNS} FROM memories WHERE id IN ({marks})", chunk)) if r is not None]
        return out

    def _index_row(self, row: Sequence[Any]) -> IndexRow | None:
        try:
            return index_row_from(row)
        except (ValueError, TypeError) as exc:  # tags that are not JSON, a vector blob of the wrong size
            self._report(row[0], f"its index row cannot be built ({exc})")
            return None

    def dedupe_rows(self) -> Iterator[tuple[str, str, str, np.ndarray | None]]:
        """(id, status, content_hash, vector) of every stored memory, for the dedupe state."""
        for r in self._conn.execute("SELECT id, status, content_hash, embedding FROM memories"):
            yield r[0], r[1], r[2], (np.frombuffer(r[3], dtype=np.float32) if r[3] is not None else None)

    def rows_to_embed(self, model: str, everything: bool, batch_size: int = 512) -> Iterator[list[tuple[str, str]]]:
        """(id, index_text) chunks of rows whose vector is missing, from another model, or all."""
        last = ""
        while True:
            rows = list(self._conn.execute(
                "SELECT id, index_text FROM memories WHERE id > ? AND (? OR embed_model IS NOT ? OR embedding IS NULL) "
                "ORDER BY id LIMIT ?", (last, int(everything), model, batch_size)))
            if not rows:
                return
            yield [(r[0], r[1]) for r in rows]
            last = rows[-1][0]

    def speakers_among(self, names: Sequence[str]) -> set[str]:
        """Which of these names (lowercased as `ascii_lower` does) speak in this cube's traces. Empty
        on a cube file the speaker index has not reached yet (its writer migrates it at open): a
        search never scans a cube for this."""
        if not names or self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'memories_by_speaker'"
        ).fetchone() is None:
            return set()
        return {r[0] for r in self._conn.execute(SPEAKERS_AMONG, (orjson.dumps(list(dict.fromkeys(names))).decode(),))}

    def active_facts(self, subject: str) -> list[StoredFact]:
        rows = self._conn.execute(
            "SELECT m.id, m.metadata FROM facts f JOIN memories m ON m.id = f.memory_id "
            "WHERE f.subject_key = ? AND m.status = 'active' ORDER BY m.id",
            (subject.casefold(),),
        )
        return [StoredFact(r[0], WorldFact.from_dict(orjson.loads(r[1]))) for r in rows]

    def stored_fact(self, memory_id: str) -> StoredFact | None:
        row = self._conn.execute(
            "SELECT m.id, m.metadata FROM facts f JOIN memories m ON m.id = f.memory_id WHERE m.id = ?", (memory_id,)
        ).fetchone()
        return StoredFact(row[0], WorldFact.from_dict(orjson.loads(row[1]))) if row else None

    def skills(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT metadata FROM memories WHERE tier = 'skill' AND status = 'active' ORDER BY id")
        return [orjson.loads(r[0]) for r in rows]

    def skill_version(self, skill_id: str, version: int) -> dict[str, Any] | None:
        current = self.get(skill_id)
        if current is None or current.tier != Tier.SKILL:
            return None
        if current.version == version:
            return current.metadata
        for old in self.versions(skill_id):
            if old["version"] == version:
                return old["metadata"]
        return None

    def episode(self, episode_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT id, task, agent, outcome, opened_at, closed_at FROM episodes WHERE id = ?", (episode_id,)
        ).fetchone()
        if row is None:
            return None
        return {"id": row[0], "task": row[1], "agent": row[2], "outcome": row[3], "opened_at": row[4],
                "closed_at": row[5]}

    def episode_rows(self, closed: bool, limit: int) -> list[dict[str, Any]]:
        """Open episodes, or the most recent closed ones, with their task vectors."""
        where = "closed_at IS NOT NULL" if closed else "closed_at IS NULL"
        rows = self._conn.execute(
            f"SELECT id, task, outcome, opened_at, closed_at, task_vector FROM episodes WHERE {where} "
            "ORDER BY coalesce(closed_at, opened_at) DESC, id DESC LIMIT ?", (limit,))
        return [{"id": r[0], "task": r[1], "outcome": r[2], "opened_at": r[3], "closed_at": r[4],
                 "task_vector": np.frombuffer(r[5], dtype=np.float32) if r[5] else None} for r in rows]

    def episode_traces(self, episode_id: str) -> list[MemoryRecord]:
        return self._records(
            f"SELECT {RECORD_COLUMNS} FROM memories WHERE episode = ? AND kind != 'summary' "
            "ORDER BY created_at, id", (episode_id,))

    def feedback_of(self, memory_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT signal, note, agent, at FROM feedback WHERE memory_id = ? ORDER BY seq", (memory_id,))
        return [{"signal": r[0], "note": r[1], "agent": r[2], "at": r[3]} for r in rows]

    def graph(self, start: str, depth: int, types: set[str] | None, limit: int = 500) -> dict[str, Any]:
        """Nodes and edges within `depth` links of `start`, either direction, breadth first."""
        seen = {start}
        edges: dict[tuple[str, str, str], dict[str, Any]] = {}
        frontier = deque([(start, 0)])
        while frontier and len(seen) < limit:
            node, d = frontier.popleft()
            if d >= depth:
                continue
            for link in self.links_of(node):
                if types and link["type"] not in types:
                    continue
                edges[(link["src"], link["type"], link["dst"])] = link
                other = link["dst"] if link["src"] == node else link["src"]
                if other not in seen:
                    seen.add(other)
                    frontier.append((other, d + 1))
        return {"nodes": sorted(seen), "edges": sorted(edges.values(), key=lambda e: (e["src"], e["type"], e["dst"]))}

