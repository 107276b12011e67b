"""Bulk-import rows: what a row of an import file must hold, and the draft it becomes (pure).

`check_row` is the one check of a row, for both imports: the online one sends the checked fields
to the server (which applies its own limits), the offline one turns them into a draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from pipeline.ids import MEMORY_ID, new_memory_id
from pipeline.records import Draft, Kind, Tier
from pipeline.timefmt import to_ms

KINDS = {k.value for k in Kind}
TIERS = {t.value for t in Tier}


class BadRow(ValueError):
    """An import row that cannot become a memory; the import counts it and goes on."""


def _time(value: Any) -> int | None:
    if value is None:
        return None
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


def row_to_draft(row: dict[str, Any], cube: str, agent: str, now_ms: int, max_chars: int) -> Draft:
    """A draft for the write pipeline from one import row, stamped with the import's cube, agent and time."""
    checked = check_row(row, max_chars)
    return Draft(
        id=checked.id, cube=cube, agent=agent, tier=checked.tier, kind=checked.kind, content=checked.content,
        created_at=checked.created_at if checked.created_at is not None else now_ms, updated_at=now_ms,
        tags=checked.tags, metadata=checked.metadata, source_ids=checked.source_ids,
    )
