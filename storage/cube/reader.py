"""Reading a cube file: records, threads, lists, links, versions, the change feed, tier tables.

A reader never writes; it opens only a file that exists. The `changes` table is a feed that
in-memory caches (hot vectors, dedupe state) follow to stay current.
"""

from __future__ import annotations

import base64
from collections import deque
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
from storage.cube.schema import (
    CONTEXT_KIND, INDEX_COLUMNS, RECORD_COLUMNS, THREAD_COLUMNS, chunks, index_row_from, record_from, thread_row_from,
)
from storage.sqlite import connect


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


def encode_cursor(created_at: int, memory_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at, memory_id])).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        created_at, memory_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(created_at), str(memory_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor is not one this server issued") from exc


class CubeReader:
    """A read connection to one cube's file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise FileNotFoundError(path)
        self._conn = connect(path, synchronous="NORMAL")

    def close(self) -> None:
        self._conn.close()

    def get(self, memory_id: str) -> MemoryRecord | None:
        row = self._conn.execute(f"SELECT {RECORD_COLUMNS} FROM memories WHERE id = ?", (memory_id,)).fetchone()
        return record_from(row) if row else None

    def get_many(self, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        out: dict[str, MemoryRecord] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self._conn.execute(f"SELECT {RECORD_COLUMNS} FROM memories WHERE id IN ({marks})", chunk):
                rec = record_from(row)
                out[rec.id] = rec
        return out

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
        ordered = [records[i] for i in [*earlier, own[0], *later] if i in records]
        return ordered, len(earlier)

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
    ) -> ListPage:
        """Newest first; fetches one extra row to know whether a next page exists."""
        where, args = [], []
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
        rows = [record_from(r) for r in self._conn.execute(sql, (*args, limit + 1))]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
        return ListPage(rows, next_cursor)

    def iter_records(self, batch_size: int = 1_000) -> Iterator[MemoryRecord]:
        """Every memory of the cube (any status), oldest first, for export."""
        after: tuple[int, str] = (-1, "")
        while True:
            rows = [record_from(r) for r in self._conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM memories WHERE (created_at, id) > (?, ?) "
                "ORDER BY created_at, id LIMIT ?", (*after, batch_size))]
            if not rows:
                return
            yield from rows
            after = (rows[-1].created_at, rows[-1].id)

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
            for row in rows:
                yield index_row_from(row)
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
            yield {
                "ids": [r[0] for r in rows],
                "kinds": [r[1] for r in rows],
                "tiers": [r[2] for r in rows],
                "tags": [orjson.loads(r[3]) for r in rows],
                "created_at": np.fromiter((r[4] for r in rows), dtype=np.int64, count=len(rows)),
                "vectors": np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32).reshape(len(rows), -1),
            }
            last = rows[-1][0]

    def index_rows_for(self, ids: Sequence[str]) -> list[IndexRow]:
        out = []
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            out += [index_row_from(r) for r in self._conn.execute(
                f"SELECT {INDEX_COLUMNS} FROM memories WHERE id IN ({marks})", chunk)]
        return out

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
        rows = self._conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM memories WHERE episode = ? AND kind != 'summary' "
            "ORDER BY created_at, id", (episode_id,))
        return [record_from(r) for r in rows]

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

