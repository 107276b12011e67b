"""One cube's canonical records in its own SQLite file: memories, tags, links, versions, changes.

This file is the truth; the Lance and tantivy shards are rebuilt from it. The `changes` table is
a feed that in-memory caches (hot vectors, dedupe state) follow to stay current.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import numpy as np
import orjson

from pipeline.context import ThreadRow
from pipeline.errors import Invalid, StoreError
from pipeline.records import Dedupe, Op, Status
from storage.sqlite import connect, migrate
from storage.tier_writes import TierWrites, is_derived

MIGRATIONS = [
    [
        """CREATE TABLE memories (
            id TEXT PRIMARY KEY,
            cube TEXT NOT NULL,
            agent TEXT NOT NULL,
            tier TEXT NOT NULL,
            kind TEXT NOT NULL,
            content TEXT NOT NULL,
            index_text TEXT NOT NULL,
            tags TEXT NOT NULL,
            metadata TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            source_ids TEXT NOT NULL,
            duplicate_of TEXT,
            tokens INTEGER NOT NULL,
            embedding BLOB,
            embed_model TEXT,
            intake_seq INTEGER NOT NULL
        )""",
        "CREATE INDEX memories_hash ON memories(content_hash, status)",
        "CREATE INDEX memories_created ON memories(created_at, id)",
        "CREATE INDEX memories_duplicate_of ON memories(duplicate_of) WHERE duplicate_of IS NOT NULL",
        """CREATE TABLE memory_tags (
            tag TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            PRIMARY KEY (tag, memory_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX memory_tags_by_memory ON memory_tags(memory_id)",
        """CREATE TABLE links (
            src TEXT NOT NULL,
            type TEXT NOT NULL,
            dst TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (src, type, dst)
        ) WITHOUT ROWID""",
        "CREATE INDEX links_by_dst ON links(dst, type)",
        """CREATE TABLE memory_versions (
            id TEXT NOT NULL,
            version INTEGER NOT NULL,
            kind TEXT NOT NULL,
            content TEXT NOT NULL,
            tags TEXT NOT NULL,
            metadata TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (id, version)
        ) WITHOUT ROWID""",
        "CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, memory_id TEXT NOT NULL, op TEXT NOT NULL)",
    ],
    [
        # How many searchable memories a cube has, without counting a million rows per search.
        "CREATE TABLE stats (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO stats(key, value) SELECT 'active', count(*) FROM memories WHERE status = 'active'",
        """CREATE TRIGGER stats_insert AFTER INSERT ON memories WHEN new.status = 'active'
           BEGIN UPDATE stats SET value = value + 1 WHERE key = 'active'; END""",
        """CREATE TRIGGER stats_delete AFTER DELETE ON memories WHEN old.status = 'active'
           BEGIN UPDATE stats SET value = value - 1 WHERE key = 'active'; END""",
        """CREATE TRIGGER stats_status AFTER UPDATE OF status ON memories WHEN old.status != new.status
           BEGIN UPDATE stats SET value = value + (new.status = 'active') - (old.status = 'active')
                 WHERE key = 'active'; END""",
    ],
    [
        # The three tiers: episodes of traces, world facts, skills; feedback on any memory.
        "ALTER TABLE memories ADD COLUMN episode TEXT",
        "ALTER TABLE memories ADD COLUMN tool TEXT",
        "ALTER TABLE memories ADD COLUMN feedback INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE memories ADD COLUMN valid_from INTEGER",
        "ALTER TABLE memories ADD COLUMN valid_to INTEGER",
        "CREATE INDEX memories_by_episode ON memories(episode, created_at) WHERE episode IS NOT NULL",
        "CREATE INDEX memories_by_tier ON memories(tier, created_at)",
        """CREATE TABLE episodes (
            id TEXT PRIMARY KEY,
            task TEXT NOT NULL,
            agent TEXT NOT NULL,
            outcome TEXT NOT NULL DEFAULT 'unknown',
            opened_at INTEGER NOT NULL,
            closed_at INTEGER,
            task_vector BLOB
        )""",
        """CREATE TABLE facts (
            memory_id TEXT PRIMARY KEY,
            subject_key TEXT NOT NULL,
            relation TEXT,
            predicate TEXT NOT NULL,
            object_key TEXT NOT NULL,
            polarity INTEGER NOT NULL,
            valid_from INTEGER NOT NULL,
            valid_to INTEGER
        )""",
        "CREATE INDEX facts_by_subject ON facts(subject_key)",
        """CREATE TABLE feedback (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            memory_id TEXT NOT NULL,
            signal TEXT NOT NULL,
            note TEXT,
            agent TEXT NOT NULL,
            at INTEGER NOT NULL,
            intake_seq INTEGER NOT NULL UNIQUE
        )""",
        "CREATE INDEX feedback_by_memory ON feedback(memory_id)",
    ],
    [
        # Threads in time order: a turn's neighbours (context, timeline) by one index seek each way.
        "CREATE INDEX memories_thread ON memories(tier, kind, episode, created_at, intake_seq) WHERE status = 'active'",
        "CREATE INDEX memories_timeline ON memories(tier, episode, created_at, intake_seq) WHERE status = 'active'",
    ],
]

RECORD_COLUMNS = (
    "id, cube, agent, tier, kind, content, tags, metadata, created_at, updated_at, version, "
    "status, content_hash, source_ids, duplicate_of, tokens, episode, tool, feedback, valid_from, valid_to"
)
INDEX_COLUMNS = "id, cube, tier, kind, index_text, tags, created_at, status, embedding"
THREAD_COLUMNS = "id, index_text, created_at, intake_seq, episode, status, tier"
CONTEXT_KIND = "message"  # only conversation turns get neighbouring-turn context
CHANGES_KEPT = 200_000  # caches further behind than this reload from scratch


@dataclass
class ApplyResult:
    """What one batch changed in a cube, for the derived indexes and the intake log."""

    done: list[int] = field(default_factory=list)  # intake seqs applied (or no-ops)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, code, message)
    index_upserts: list[dict[str, Any]] = field(default_factory=list)  # rows to (re)index
    index_deletes: list[str] = field(default_factory=list)  # ids to remove from the indexes


@dataclass(frozen=True)
class ListPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class ChangeFeed:
    """Changes after a cache's position: `reset` means start over from `all_rows`."""

    seq: int
    upserts: list[dict[str, Any]]
    deletes: list[str]
    reset: bool


def _record(row: Sequence[Any]) -> dict[str, Any]:
    names = [n.strip() for n in RECORD_COLUMNS.split(",")]
    rec = dict(zip(names, row))
    rec["tags"] = orjson.loads(rec["tags"])
    rec["metadata"] = orjson.loads(rec["metadata"])
    rec["source_ids"] = orjson.loads(rec["source_ids"])
    rec["tool"] = orjson.loads(rec["tool"]) if rec["tool"] else None
    return rec


def _index_row(row: Sequence[Any]) -> dict[str, Any]:
    names = [n.strip() for n in INDEX_COLUMNS.split(",")]
    rec = dict(zip(names, row))
    rec["tags"] = orjson.loads(rec["tags"])
    blob = rec.pop("embedding")
    rec["vector"] = np.frombuffer(blob, dtype=np.float32) if blob is not None else None
    return rec


def _thread_row(row: Sequence[Any]) -> ThreadRow:
    return ThreadRow(row[0], row[1] or "", row[2], row[3], row[4], row[5] == Status.ACTIVE.value)


def encode_cursor(created_at: int, memory_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at, memory_id])).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        created_at, memory_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(created_at), str(memory_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor is not one this server issued") from exc


class CubeStore(TierWrites):
    """A cube's SQLite file. Writers apply whole batches in one transaction; readers never write."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        if not create and not path.exists():
            raise FileNotFoundError(path)
        self._conn = connect(path, synchronous="NORMAL")
        if create:
            migrate(self._conn, MIGRATIONS)

    def close(self) -> None:
        self._conn.close()

    # --- reads -------------------------------------------------------------------------------

    def get(self, memory_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(f"SELECT {RECORD_COLUMNS} FROM memories WHERE id = ?", (memory_id,)).fetchone()
        return _record(row) if row else None

    def get_many(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self._conn.execute(f"SELECT {RECORD_COLUMNS} FROM memories WHERE id IN ({marks})", chunk):
                rec = _record(row)
                out[rec["id"]] = rec
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
            out[own[0]] = _thread_row(own)
            for row in self._adjacent(own, reach, gap_ms, kind=CONTEXT_KIND):
                out.setdefault(row[0], _thread_row(row))
        return list(out.values())

    def thread_rows(self) -> Iterator[ThreadRow]:
        """Every active conversation turn, for rebuilding contexts from scratch."""
        for row in self._conn.execute(
            f"SELECT {THREAD_COLUMNS} FROM memories WHERE tier = 'trace' AND status = 'active' AND kind = ?",
            (CONTEXT_KIND,),
        ):
            yield _thread_row(row)

    def timeline(self, memory_id: str, before: int, after: int) -> tuple[list[dict[str, Any]], int] | None:
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
        for chunk in _chunks(list(ids), 500):
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
        if tier is not None:
            where.append("tier = ?")
            args.append(tier)
        if tag is not None:
            where.append("id IN (SELECT memory_id FROM memory_tags WHERE tag = ?)")
            args.append(tag)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if cursor is not None:
            created_at, memory_id = decode_cursor(cursor)
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            args += [created_at, created_at, memory_id]
        sql = f"SELECT {RECORD_COLUMNS} FROM memories"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        rows = [_record(r) for r in self._conn.execute(sql, (*args, limit + 1))]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
        return ListPage(rows, next_cursor)

    def iter_records(self, batch_size: int = 1_000) -> Iterator[dict[str, Any]]:
        """Every memory of the cube (any status), oldest first, for export."""
        after: tuple[int, str] = (-1, "")
        while True:
            rows = [_record(r) for r in self._conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM memories WHERE (created_at, id) > (?, ?) "
                "ORDER BY created_at, id LIMIT ?", (*after, batch_size))]
            if not rows:
                return
            yield from rows
            after = (rows[-1]["created_at"], rows[-1]["id"])

    def links_from(self, ids: Sequence[str], link_type: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for chunk in _chunks(list(ids), 500):
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
        rows = {r["id"]: r for r in self.index_rows_for(ids)}
        upserts = [r for r in rows.values() if r["status"] == Status.ACTIVE]
        deletes = [i for i in ids if i not in rows or rows[i]["status"] != Status.ACTIVE]
        return ChangeFeed(last, upserts, deletes, reset=False)

    def index_rows(self, batch_size: int = 2_000) -> Iterator[dict[str, Any]]:
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
                yield _index_row(row)
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

    def index_rows_for(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            out += [_index_row(r) for r in self._conn.execute(
                f"SELECT {INDEX_COLUMNS} FROM memories WHERE id IN ({marks})", chunk)]
        return out

    def dedupe_rows(self) -> Iterator[tuple[str, str, str, np.ndarray | None]]:
        """(id, status, content_hash, vector) of every stored memory, for the dedupe state."""
        for r in self._conn.execute("SELECT id, status, content_hash, embedding FROM memories"):
            yield r[0], r[1], r[2], (np.frombuffer(r[3], dtype=np.float32) if r[3] is not None else None)

    # --- writes ------------------------------------------------------------------------------

    def apply(self, rows: Sequence[dict[str, Any]], embed_model: str) -> ApplyResult:
        """Apply one batch of deduped pipeline rows for this cube in a single transaction."""
        result = ApplyResult()
        try:
            with self._conn:
                for row in rows:
                    self._apply_row(row, embed_model, result)
                self._prune_changes()
        except apsw.Error as exc:
            raise StoreError(f"cube file {self.path.name}: {exc}") from exc
        return result

    def _apply_row(self, row: dict[str, Any], embed_model: str, result: ApplyResult) -> None:
        seq = row["seq"]
        if row.get("error"):
            result.failed.append((seq, "invalid", row["error"]))
            return
        op = row["op"]
        if op == Op.ADD:
            self._add(row, embed_model, result)
        elif op == Op.UPDATE:
            self._update(row, embed_model, result)
        elif op == Op.DELETE:
            self._delete(row["id"], result)
        elif op == Op.FACT:
            self._fact(row, embed_model, result)
        elif op == Op.SKILL:
            self._skill(row, embed_model, result)
        elif op == Op.EPISODE:
            self._episode(row, result)
        elif op == Op.FEEDBACK:
            self._feedback(row, result)
        elif op == Op.LINK:
            self._user_link(row, result)
        if is_derived(row):
            return  # rides with its source entry, which reports done or failed
        if not result.failed or result.failed[-1][0] != seq:
            result.done.append(seq)

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

    def set_embeddings(self, ids: Sequence[str], vectors: np.ndarray, model: str) -> int:
        try:
            with self._conn:
                for memory_id, vector in zip(ids, vectors):
                    self._conn.execute(
                        "UPDATE memories SET embedding = ?, embed_model = ? WHERE id = ?",
                        (_blob(vector), model, memory_id),
                    )
                    self._changed(memory_id, "upsert")
        except apsw.Error as exc:
            raise StoreError(f"cube file {self.path.name}: {exc}") from exc
        return len(ids)

    def _add(self, row: dict[str, Any], embed_model: str, result: ApplyResult) -> None:
        if self.exists(row["id"]):
            # A replay after a crash, or a client repeating an id: no-op, but make sure the
            # derived indexes hold what the file holds (the crash may have come before them).
            stored = self.index_rows_for([row["id"]])
            if stored and stored[0]["status"] == Status.ACTIVE:
                result.index_upserts.append(stored[0])
            return
        if row["dedupe"] == Dedupe.EXISTS:
            # Dedupe remembered an id whose write never landed (the writer died): the file is the
            # truth, so store it now rather than lose it.
            row = {**row, "status": Status.ACTIVE.value}
        vector = row.get("vector")
        self._conn.execute(
            "INSERT INTO memories(id, cube, agent, tier, kind, content, index_text, tags, metadata, created_at, "
            "updated_at, version, status, content_hash, source_ids, duplicate_of, tokens, embedding, embed_model, "
            "intake_seq, episode, tool, valid_from, valid_to) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["id"], row["cube"], row["agent"], row["tier"], row["kind"], row["content"], row["index_text"],
                orjson.dumps(row["tags"]).decode(), row["metadata"], row["created_at"], row["updated_at"],
                row.get("version") or 1, row["status"], row["content_hash"], orjson.dumps(row["source_ids"]).decode(),
                row["duplicate_of"], row["tokens"], _blob(vector), embed_model if vector is not None else None,
                row["seq"], row.get("episode"), row.get("tool"), row.get("valid_from"), row.get("valid_to"),
            ),
        )
        self._set_tags(row["id"], row["tags"])
        if row.get("episode"):
            self._link(row["id"], "part_of_episode", row["episode"], row["updated_at"])
        if row["duplicate_of"]:
            self._link(row["id"], "duplicate_of", row["duplicate_of"], row["updated_at"])
        if row["near_duplicate_of"]:
            self._link(row["id"], "near_duplicate", row["near_duplicate_of"], row["updated_at"],
                       {"score": row["near_duplicate_score"]})
        for source in row["source_ids"]:
            self._link(row["id"], "derived_from", source, row["updated_at"])
        self._changed(row["id"], "upsert")
        if row["status"] == Status.ACTIVE:
            result.index_upserts.append(_as_index_row(row))

    def _update(self, row: dict[str, Any], embed_model: str, result: ApplyResult) -> None:
        current = self.get(row["id"])
        if current is not None and self._applied_seq(row["id"]) == row["seq"]:
            result.index_upserts += self.index_rows_for([row["id"]])  # a replay: already applied
            return
        if current is None:
            result.failed.append((row["seq"], "not_found", f"memory {row['id']} does not exist"))
            return
        if row["base_version"] is not None and current["version"] != row["base_version"]:
            result.failed.append(
                (row["seq"], "conflict",
                 f"memory {row['id']} is at version {current['version']}, not {row['base_version']}")
            )
            return
        self._snapshot(current)
        vector = row.get("vector")
        # New content makes a former exact duplicate a memory of its own.
        own = 1 if vector is not None else 0
        self._conn.execute(
            "UPDATE memories SET tier = ?, kind = ?, content = ?, index_text = ?, tags = ?, metadata = ?, "
            "updated_at = ?, version = version + 1, content_hash = ?, tokens = ?, "
            "status = CASE WHEN ? THEN 'active' ELSE status END, "
            "duplicate_of = CASE WHEN ? THEN NULL ELSE duplicate_of END, "
            "embedding = coalesce(?, embedding), embed_model = coalesce(?, embed_model), "
            "intake_seq = ? WHERE id = ?",
            (row["tier"], row["kind"], row["content"], row["index_text"], orjson.dumps(row["tags"]).decode(),
             row["metadata"], row["updated_at"], row["content_hash"], row["tokens"], own, own, _blob(vector),
             embed_model if vector is not None else None, row["seq"], row["id"]),
        )
        if own:
            self._conn.execute("DELETE FROM links WHERE src = ? AND type = 'duplicate_of'", (row["id"],))
        self._set_tags(row["id"], row["tags"])
        self._changed(row["id"], "upsert")
        result.index_upserts += self.index_rows_for([row["id"]])

    def _delete(self, memory_id: str, result: ApplyResult) -> None:
        result.index_deletes.append(memory_id)  # also when gone: a replay may find indexes behind
        if not self.exists(memory_id):
            return
        promoted = self._promote_duplicate_of(memory_id)
        for sql in (
            "DELETE FROM memories WHERE id = ?",
            "DELETE FROM memory_tags WHERE memory_id = ?",
            "DELETE FROM memory_versions WHERE id = ?",
            "DELETE FROM links WHERE src = ?",
            "DELETE FROM links WHERE dst = ?",
        ):
            self._conn.execute(sql, (memory_id,))
        self._changed(memory_id, "delete")
        if promoted is not None:
            result.index_upserts += self.index_rows_for([promoted])

    def _applied_seq(self, memory_id: str) -> int | None:
        row = self._conn.execute("SELECT intake_seq FROM memories WHERE id = ?", (memory_id,)).fetchone()
        return row[0] if row else None

    def _promote_duplicate_of(self, memory_id: str) -> str | None:
        """When an original goes, its oldest exact duplicate takes its place, so no id vanishes."""
        rows = [r[0] for r in self._conn.execute(
            "SELECT id FROM memories WHERE duplicate_of = ? ORDER BY created_at, id", (memory_id,))]
        if not rows:
            return None
        heir, rest = rows[0], rows[1:]
        self._conn.execute("UPDATE memories SET status = 'active', duplicate_of = NULL WHERE id = ?", (heir,))
        self._conn.execute("DELETE FROM links WHERE src = ? AND type = 'duplicate_of'", (heir,))
        for other in rest:
            self._conn.execute("UPDATE memories SET duplicate_of = ? WHERE id = ?", (heir, other))
            self._conn.execute("UPDATE links SET dst = ? WHERE src = ? AND type = 'duplicate_of'", (heir, other))
        self._changed(heir, "upsert")
        return heir

    def _set_tags(self, memory_id: str, tags: Sequence[str]) -> None:
        self._conn.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
        for tag in dict.fromkeys(tags):
            self._conn.execute("INSERT INTO memory_tags(tag, memory_id) VALUES (?, ?)", (tag, memory_id))

    def _link(self, src: str, link_type: str, dst: str, at: int, metadata: dict | None = None) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO links(src, type, dst, created_at, metadata) VALUES (?, ?, ?, ?, ?)",
            (src, link_type, dst, at, orjson.dumps(metadata or {}).decode()),
        )

    def _changed(self, memory_id: str, op: str) -> None:
        self._conn.execute("INSERT INTO changes(memory_id, op) VALUES (?, ?)", (memory_id, op))

    def _prune_changes(self) -> None:
        self._conn.execute("DELETE FROM changes WHERE seq <= ?", (self.last_change() - CHANGES_KEPT,))


def _as_index_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "cube": row["cube"], "tier": row["tier"], "kind": row["kind"],
        "index_text": row["index_text"], "tags": row["tags"], "created_at": row["created_at"],
        "status": row["status"], "vector": row.get("vector"),
    }


def _blob(vector: Any) -> bytes | None:
    if vector is None:
        return None
    return np.asarray(vector, dtype=np.float32).tobytes()


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
