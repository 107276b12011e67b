"""Table rows (JSON lines or Parquet: our old export, or any table with `content`) as import input (pure).

`check_row` is the one check of a row; `row_object` turns a checked row into the interchange
memory object the import takes (pipeline/interchange/model.py), so a table goes through the same
import as a bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
from datetime import datetime
from typing import Any

import orjson

from pipeline.ids import MEMORY_ID, new_memory_id
from pipeline.interchange.export_objects import vector_object
from pipeline.interchange.model import iso
from pipeline.interchange.model import to_ms as exact_ms
from pipeline.records import Kind, Tier

KINDS = {k.value for k in Kind}
TIERS = {t.value for t in Tier}


class BadRow(ValueError):
    """An import row that cannot become a memory; the import counts it and goes on."""


def _time(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return exact_ms(value.isoformat())
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return exact_ms(value)
        except ValueError as exc:
            raise BadRow(f"created_at {value[:40]!r} is not ISO 8601") from exc
    raise BadRow(f"created_at has type {type(value).__name__}")


def _json_object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = orjson.loads(value) if value else {}
        except orjson.JSONDecodeError as exc:
            raise BadRow("metadata is not valid JSON") from exc
    if not isinstance(value, dict):
        raise BadRow("metadata must be a JSON object")
    return value


@dataclass(frozen=True)
class ImportRow:
    """What one row of an import file says about its memory, checked."""

    id: str  # the row's own, or a new one
    tier: str
    kind: str
    content: str
    tags: list[str]
    metadata: dict[str, Any]
    source_ids: list[str]
    created_at: int | None  # None: the row gives no time (the import's own is used)


def check_row(row: dict[str, Any], max_chars: int | None = None) -> ImportRow:
    """One import row (our export's shape, or a subset of it), checked; BadRow says what is wrong.
    With `max_chars` None the content length is left to the server that stores it."""
    content = row.get("content")
    if not isinstance(content, str) or not content.strip():
        raise BadRow("content is missing or empty")
    if max_chars is not None and len(content) > max_chars:
        raise BadRow(f"content has {len(content)} characters; the limit is {max_chars}")
    memory_id = row.get("id") or new_memory_id()
    if not isinstance(memory_id, str) or not MEMORY_ID.fullmatch(memory_id):
        raise BadRow(f"id {str(memory_id)[:40]!r} is not a valid memory id")
    kind = row.get("kind") or Kind.NOTE.value
    if kind not in KINDS:
        raise BadRow(f"kind {str(kind)[:20]!r} is not one of {sorted(KINDS)}")
    tags = row.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 128 for t in tags):
        raise BadRow("tags must be a list of 1-128 character strings")
    source_ids = row.get("source_ids") or []
    if not isinstance(source_ids, list):
        raise BadRow("source_ids must be a list")
    created = _time(row.get("created_at"))
    return ImportRow(
        id=memory_id,
        tier=row["tier"] if row.get("tier") in TIERS else Tier.TRACE.value,
        kind=kind,
        content=content,
        tags=list(dict.fromkeys(tags)),
        metadata=_json_object(row.get("metadata")),
        source_ids=[str(s) for s in source_ids],
        created_at=created,
    )


def _json_value(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return orjson.loads(value) if value else None
        except orjson.JSONDecodeError as exc:
            raise BadRow(f"{name} is not valid JSON") from exc
    return value


def _iso(value: Any, name: str) -> str | None:
    """A row's time as the interchange's ISO 8601 text (milliseconds, UTC)."""
    try:
        ms = _time(value)
    except BadRow as exc:
        raise BadRow(str(exc).replace("created_at", name, 1)) from None
    return iso(ms) if ms is not None else None


def is_export_row(row: dict[str, Any]) -> bool:
    """A row of our own JSON lines or Parquet export (GET /v1/cubes/{id}/export): it carries its state."""
    return all(key in row for key in ("id", "tier", "kind", "status", "version", "created_at"))


def row_object(row: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """One table row as an interchange memory object. A row of our export keeps its whole state
    (status, version, validity, tool call: it is restored as it was); any other row is a note
    for the live path, with a stable id derived from its content when it has none, so importing
    the same table twice stores nothing new."""
    checked = check_row({**row, "id": row.get("id") or _stable_id(row)})
    tool = _json_value(row.get("tool"), "tool")
    if tool is not None and not isinstance(tool, dict):
        raise BadRow("tool must be a JSON object")
    created = iso(checked.created_at) if checked.created_at is not None else None
    out: dict[str, Any] = {"object": "memory", "id": checked.id, "tier": checked.tier, "kind": checked.kind,
                           "content": checked.content, "tags": checked.tags, "metadata": checked.metadata,
                           "source_ids": checked.source_ids}
    if tool is not None:
        out["tool"] = tool
    for key in ("episode", "duplicate_of", "agent"):
        if row.get(key):
            out[key] = row[key]
    temporal = {"created_at": created or iso(now_ms)}  # a row without a time happened now, as a live write
    if is_export_row(row):
        out.update(status=row["status"], version=int(row["version"]), feedback=int(row.get("feedback") or 0))
        for key, name in (("updated_at", "updated_at"), ("valid_from", "valid_from"), ("valid_until", "valid_to")):
            value = _iso(row.get(name), name)
            if value is not None:
                temporal[key] = value
    out["temporal"] = temporal
    return out


def row_vector(row: dict[str, Any], memory_id: str) -> dict[str, Any] | None:
    """A row's own embedding as the interchange's vector object, when the row names the model that
    made it (`embedding_model`). A `vector` column alone is not read: it could be any model's, and
    the import keeps a vector only from the server's own (name and width)."""
    vector, model = row.get("vector"), row.get("embedding_model")
    if vector is None or model is None:
        return None
    if not isinstance(model, str) or not model:
        raise BadRow("embedding_model must be the name of the model that made the vector")
    if not isinstance(vector, list) or not vector:
        raise BadRow("vector must be a list of numbers")
    try:
        return vector_object(vector, model, memory_id=memory_id)
    except (TypeError, ValueError):
        raise BadRow("vector must be a list of numbers") from None


def _stable_id(row: dict[str, Any]) -> str:
    key = orjson.dumps([row.get("content"), str(row.get("created_at")), row.get("kind")]).decode()
    return "row-" + hashlib.sha256(key.encode()).hexdigest()[:24]
