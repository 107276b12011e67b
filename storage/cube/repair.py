"""Finding and fixing stored memories that cannot be read: the storage half of `memos repair`.

The cube reader leaves such a row out of every read and logs it (storage/cube/reader.py); this
module finds every one in a file and rewrites each bad value with one that can be shown, keeping
what was there: a bad value is moved into `metadata.repaired` (as text, cut at 2,000 characters),
except a time, which is clamped to the nearest representable one (a year-10000 time becomes
9999-12-31T23:59:59.999Z) so the memory keeps its place in time order. Each repaired row is
recorded in the change feed, so the caches that follow it reload the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import orjson

from pipeline.timefmt import MAX_MS, MIN_MS, representable
from storage.cube.schema import (
    FIELD_SHAPES, RECORD_COLUMNS, RECORD_JSON, RECORD_NAMES, TIME_COLUMNS, UnreadableRecord, decoded_values, json_text,
    record_problem,
)
from storage.sqlite import connect

KEPT_CHARS = 2_000  # of a replaced value, kept in metadata.repaired
# What a value that cannot be read becomes, per field (a time is clamped instead; see above).
_DEFAULTS: dict[str, Any] = {"tags": [], "metadata": {}, "source_ids": [], "tool": None, "version": 1,
                             "tokens": 0, "feedback": 0, "status": "active", "content_hash": "",
                             "duplicate_of": None, "episode": None, "valid_from": None, "valid_to": None}


@dataclass(frozen=True)
class Damage:
    """One unreadable row: where it is, why, and what a repair changed (empty on a dry run)."""

    rowid: int
    memory_id: str
    reason: str
    fixed: list[str] = field(default_factory=list)  # the fields rewritten


def find_damage(path: Path) -> list[Damage]:
    """Every row of the cube file that the reader would leave out, and why."""
    conn = connect(path)
    try:
        return [Damage(rowid, memory_id, reason) for rowid, memory_id, reason, _ in _scan(conn)]
    finally:
        conn.close()


def repair_file(path: Path) -> list[Damage]:
    """Rewrite every unreadable row of the cube file so that it can be read; one transaction per file."""
    conn = connect(path)
    try:
        found = list(_scan(conn))
        repaired: list[Damage] = []
        with conn:
            for rowid, memory_id, reason, raw in found:
                changes = _repaired_values(raw)
                _write(conn, rowid, changes)
                after = conn.execute(f"SELECT {RECORD_COLUMNS} FROM memories WHERE rowid = ?", (rowid,)).fetchone()
                problem = record_problem(decoded_values(after))
                if problem is not None:  # never reached while _repaired_values covers every check
                    raise UnreadableRecord(memory_id, f"still unreadable after repair: {problem}")
                conn.execute("INSERT INTO changes(memory_id, op) VALUES (?, 'upsert')", (after[0],))
                repaired.append(Damage(rowid, memory_id, reason, sorted(changes)))
        return repaired
    finally:
        conn.close()


def _scan(conn: apsw.Connection):
    """(rowid, id as text, reason, raw values by field name) of each unreadable row."""
    text_columns = [name for name, allowed, _ in FIELD_SHAPES if str in allowed]
    for (rowid,) in list(conn.execute("SELECT rowid FROM memories ORDER BY rowid")):
        try:
            row = conn.execute(f"SELECT {RECORD_COLUMNS} FROM memories WHERE rowid = ?", (rowid,)).fetchone()
        except UnicodeDecodeError:  # text that is not UTF-8: read each text column as bytes instead
            blobs = conn.execute(
                "SELECT " + ", ".join(f"CAST({n} AS BLOB)" if n in text_columns else n for n in RECORD_NAMES)
                + " FROM memories WHERE rowid = ?", (rowid,)).fetchone()
            raw = dict(zip(RECORD_NAMES, blobs))
            bad = [n for n in text_columns if isinstance(raw[n], bytes) and not _utf8(raw[n])]
            yield rowid, _shown_id(raw["id"], rowid), f"{', '.join(bad)} not UTF-8 text", raw
            continue
        try:
            values = decoded_values(row)
        except UnreadableRecord as exc:
            yield rowid, _shown_id(row[0], rowid), exc.reason, dict(zip(RECORD_NAMES, row))
            continue
        problem = record_problem(values)
        if problem is not None:
            yield rowid, _shown_id(row[0], rowid), problem, dict(zip(RECORD_NAMES, row))


def _repaired_values(raw: dict[str, Any]) -> dict[str, Any]:
    """The columns to rewrite, as stored (JSON columns as text), so that the row reads back whole."""
    kept: dict[str, str] = {}
    changes: dict[str, Any] = {}
    decoded: dict[str, Any] = {}
    for name, allowed, item in FIELD_SHAPES:
        value = raw[name]
        if isinstance(value, bytes) and str in allowed:  # read as bytes: a row with text that is not UTF-8
            if not _utf8(value):
                changes[name] = value.decode("utf-8", errors="replace")
            value = value.decode("utf-8", errors="replace")
        if name in RECORD_JSON:
            try:
                value = orjson.loads(value) if value else None
            except (orjson.JSONDecodeError, TypeError):
                kept[name] = _as_text(raw[name])
                value = _DEFAULTS[name]
                changes[name] = value
        good = isinstance(value, allowed) and not isinstance(value, bool)
        if good and item is not None and value:
            if not all(isinstance(v, item) for v in value):
                value = [v if isinstance(v, item) else _as_text(v) for v in value]
                changes[name] = value
        elif not good:
            if name in TIME_COLUMNS:
                value = _time_for(name, value, raw)
            elif str in allowed and value is not None:
                value = _as_text(value)
            else:
                kept[name] = _as_text(raw[name])  # as it was stored (a JSON column's own text)
                value = _DEFAULTS.get(name, "")
            changes[name] = value
        if name in TIME_COLUMNS and value is not None and not representable(value):
            value = _time_for(name, value, raw)
            changes[name] = value
        decoded[name] = value
    if kept:
        metadata = decoded["metadata"] if isinstance(decoded["metadata"], dict) else {}
        changes["metadata"] = {**metadata, "repaired": {**metadata.get("repaired", {}), **kept}}
    return {name: json_text(v) if name in RECORD_JSON else v for name, v in changes.items()}


def _time_for(name: str, value: Any, raw: dict[str, Any]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, MIN_MS), MAX_MS)  # the nearest time that can be shown
    if name in ("valid_from", "valid_to", "expires_at"):
        return None
    other = raw["updated_at" if name == "created_at" else "created_at"]
    return other if representable(other) else 0


def _write(conn: apsw.Connection, rowid: int, changes: dict[str, Any]) -> None:
    sets = ", ".join(f"{name} = ?" for name in changes)
    conn.execute(f"UPDATE memories SET {sets} WHERE rowid = ?", (*changes.values(), rowid))
    if "tags" in changes:  # the tag index follows the row's tags
        memory_id = conn.execute("SELECT id FROM memories WHERE rowid = ?", (rowid,)).fetchone()[0]
        conn.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
        for tag in dict.fromkeys(orjson.loads(changes["tags"])):
            conn.execute("INSERT OR IGNORE INTO memory_tags(tag, memory_id) VALUES (?, ?)", (tag, memory_id))


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_text(value: Any) -> str:
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else (
        value if isinstance(value, str) else orjson.dumps(value, default=str).decode())
    return text[:KEPT_CHARS]


def _shown_id(value: Any, rowid: int) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else f"rowid {rowid}"
