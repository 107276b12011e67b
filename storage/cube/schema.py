"""The cube file's schema: numbered migrations and the column lists derived from the record types.

An applied migration is never edited; a new one is appended. The SELECT lists come from the
dataclasses in pipeline/records.py, so a field is named once.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import numpy as np
import orjson

from pipeline.context import ThreadRow
from pipeline.records import IndexRow, MemoryRecord, Status, column_names, json_columns
from pipeline.timefmt import representable

# A trace's speaker as pipeline/parse.py `speaker_of` reads it (`speaker`, else `role`), lowercased as
# SQLite lowers (ASCII only: pipeline/query_names.py `ascii_lower`). The expression of an index:
# a query uses the index only when it spells the expression exactly so, and it is never changed.
# NULL for metadata that is not JSON: a damaged row must not make its own repair (or the migration
# that builds the index) fail with "malformed JSON".
SPEAKER_KEY = ("(CASE WHEN json_valid(metadata) THEN lower(trim(coalesce(nullif(trim("
               "json_extract(metadata, '$.speaker')), ''), json_extract(metadata, '$.role')))) END)")

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
    [
        # Lifecycle (issue 17): a memory's expiry, found by the sweeper without a scan.
        "ALTER TABLE memories ADD COLUMN expires_at INTEGER",
        "CREATE INDEX memories_expiry ON memories(expires_at) WHERE expires_at IS NOT NULL",
    ],
    [
        # Images (issue 17): an image memory's facts; its bytes are `cubes/<cube>.blobs/<sha256>`.
        """CREATE TABLE images (
            memory_id TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL,
            mime TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            exif TEXT NOT NULL DEFAULT '{}',
            gps_removed INTEGER NOT NULL DEFAULT 0,
            gps_kept INTEGER NOT NULL DEFAULT 0,
            thumbnail_mime TEXT NOT NULL,
            ocr_text TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID""",
        "CREATE INDEX images_by_hash ON images(sha256)",
    ],
    [
        # Who speaks in a cube (issue 18): a search finds the speakers its query names by index
        # seeks (pipeline/query_names.py), never a scan.
        f"CREATE INDEX memories_by_speaker ON memories({SPEAKER_KEY}) WHERE tier = 'trace'",
    ],
]

_RECORD_NAMES = column_names(MemoryRecord)
_RECORD_JSON = json_columns(MemoryRecord)
RECORD_COLUMNS = ", ".join(_RECORD_NAMES)
RECORD_POSITION = (_RECORD_NAMES.index("created_at"), _RECORD_NAMES.index("id"))  # the key lists page by
# The index row's fields that are plain columns; its vector is the `embedding` blob.
_INDEX_NAMES = tuple(n for n in column_names(IndexRow) if n not in ("vector", "context"))
INDEX_COLUMNS = ", ".join((*_INDEX_NAMES, "embedding"))
THREAD_COLUMNS = "id, index_text, created_at, intake_seq, episode, status, tier"
CONTEXT_KIND = "message"  # only conversation turns get neighbouring-turn context


# The record's times; service/views.py shows each as ISO 8601.
TIME_COLUMNS = ("created_at", "updated_at", "valid_from", "valid_to", "expires_at")


class UnreadableRecord(ValueError):
    """A stored row that cannot be shown as a memory (a bad time, JSON or type); `memos repair` fixes it."""

    def __init__(self, memory_id: object, reason: str) -> None:
        super().__init__(f"memory {memory_id!s:.80}: {reason}")
        self.memory_id, self.reason = memory_id, reason


def _shape(hint: Any) -> tuple[tuple[type, ...], type | None]:
    """The Python types a field of this annotation may hold, and its items' type for a list."""
    allowed: list[type] = []
    item: type | None = None
    for arm in get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,):
        origin = get_origin(arm) or arm
        allowed.append(type(None) if arm is type(None) else origin)
        if origin is list and get_args(arm):
            item = get_args(arm)[0]
    return tuple(allowed), item


_HINTS = get_type_hints(MemoryRecord)
FIELD_SHAPES = [(name, *_shape(_HINTS[name])) for name in _RECORD_NAMES]  # (name, types allowed, list item type)
RECORD_NAMES, RECORD_JSON = _RECORD_NAMES, _RECORD_JSON


def record_problem(values: dict[str, Any]) -> str | None:
    """Why a decoded row cannot be shown as a memory, or None: every field of its declared type, every
    time within years 1-9999 (a year-10000 time once broke every read of its cube: issue 13)."""
    for name, allowed, item in FIELD_SHAPES:
        value = values[name]
        if not isinstance(value, allowed) or isinstance(value, bool):
            return f"{name} holds {type(value).__name__}, not {'/'.join(t.__name__ for t in allowed)}"
        if item is not None and value and not all(isinstance(v, item) for v in value):
            return f"{name} holds an item that is not {item.__name__}"
    for name in TIME_COLUMNS:
        value = values[name]
        if value is not None and not representable(value):
            return f"{name} = {value!r} is not a time within years 1-9999"
    return None


def decoded_values(row: Sequence[Any]) -> dict[str, Any]:
    """A row's values by field name, JSON columns decoded; UnreadableRecord if one is not JSON."""
    values = dict(zip(_RECORD_NAMES, row))
    for name in _RECORD_JSON:
        raw = values[name]
        try:
            values[name] = orjson.loads(raw) if raw else None
        except (orjson.JSONDecodeError, TypeError) as exc:  # TypeError: not text at all
            raise UnreadableRecord(values["id"], f"{name} is not JSON ({exc})") from None
    return values


def record_from(row: Sequence[Any]) -> MemoryRecord:
    """The stored row as a record, or UnreadableRecord: a record returned here can always be shown."""
    values = decoded_values(row)
    problem = record_problem(values)
    if problem is not None:
        raise UnreadableRecord(values["id"], problem)
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
