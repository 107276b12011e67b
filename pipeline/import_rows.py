"""Bulk-import rows: what a row of an import file must hold, and the draft it becomes (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from pipeline.ids import MEMORY_ID, new_memory_id
from pipeline.records import Kind, Tier
from pipeline.timefmt import to_ms

KINDS = {k.value for k in Kind}


class BadRow(ValueError):
    """An import row that cannot become a memory; the import counts it and goes on."""


def _time(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, datetime):
        return to_ms(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return to_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError as exc:
            raise BadRow(f"created_at {value[:40]!r} is not ISO 8601") from exc
    raise BadRow(f"created_at has type {type(value).__name__}")


def _json_object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = orjson.loads(value) if value else {}
    if not isinstance(value, dict):
        raise BadRow("metadata must be a JSON object")
    return value


def row_to_draft(row: dict[str, Any], cube: str, agent: str, now_ms: int, max_chars: int) -> dict[str, Any]:
    """A draft for the write pipeline from one import row (our export's shape, or a subset of it)."""
    content = row.get("content")
    if not isinstance(content, str) or not content.strip():
        raise BadRow("content is missing or empty")
    if len(content) > max_chars:
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
    created = _time(row.get("created_at"), now_ms)
    return {
        "id": memory_id,
        "cube": cube,
        "agent": agent,
        "tier": row.get("tier") if row.get("tier") in {t.value for t in Tier} else Tier.TRACE.value,
        "kind": kind,
        "content": content,
        "tags": list(dict.fromkeys(tags)),
        "metadata": _json_object(row.get("metadata")),
        "created_at": created,
        "updated_at": now_ms,
        "source_ids": [str(s) for s in row.get("source_ids") or []],
    }
