"""The cube file's schema: numbered migrations and the column lists derived from the record types.

An applied migration is never edited; a new one is appended. The SELECT lists come from the
dataclasses in pipeline/records.py, so a field is named once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from pipeline.context import ThreadRow
from pipeline.records import IndexRow, MemoryRecord, Status, column_names, json_columns

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

_RECORD_NAMES = column_names(MemoryRecord)
_RECORD_JSON = json_columns(MemoryRecord)
RECORD_COLUMNS = ", ".join(_RECORD_NAMES)
# The index row's fields that are plain columns; its vector is the `embedding` blob.
_INDEX_NAMES = tuple(n for n in column_names(IndexRow) if n not in ("vector", "context"))
INDEX_COLUMNS = ", ".join((*_INDEX_NAMES, "embedding"))
THREAD_COLUMNS = "id, index_text, created_at, intake_seq, episode, status, tier"
CONTEXT_KIND = "message"  # only conversation turns get neighbouring-turn context


def record_from(row: Sequence[Any]) -> MemoryRecord:
    values = dict(zip(_RECORD_NAMES, row))
    for name in _RECORD_JSON:
        raw = values[name]
        values[name] = orjson.loads(raw) if raw else None
    return MemoryRecord(**values)


def index_row_from(row: Sequence[Any]) -> IndexRow:
    *plain, blob = row
    values = dict(zip(_INDEX_NAMES, plain))
    values["tags"] = orjson.loads(values["tags"])
    return IndexRow(**values, vector=np.frombuffer(blob, dtype=np.float32) if blob is not None else None)


def thread_row_from(row: Sequence[Any]) -> ThreadRow:
    return ThreadRow(row[0], row[1] or "", row[2], row[3], row[4], row[5] == Status.ACTIVE.value)


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def blob(vector: Any) -> bytes | None:
    if vector is None:
        return None
    return np.asarray(vector, dtype=np.float32).tobytes()


def chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]
