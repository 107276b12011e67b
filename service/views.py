"""How stored records are shown to clients (the JSON shape of a memory)."""

from __future__ import annotations

from typing import Any

from pipeline.parse import decode_draft
from pipeline.timefmt import to_iso


def memory_view(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "cube": rec["cube"],
        "agent": rec["agent"],
        "tier": rec["tier"],
        "kind": rec["kind"],
        "content": rec["content"],
        "tags": rec["tags"],
        "metadata": rec["metadata"],
        "created_at": to_iso(rec["created_at"]),
        "updated_at": to_iso(rec["updated_at"]),
        "version": rec["version"],
        "status": rec["status"],
        "duplicate_of": rec["duplicate_of"],
        "source_ids": rec["source_ids"],
        "tokens": rec["tokens"],
        "episode": rec.get("episode"),
        "tool": rec.get("tool"),
        "feedback": rec.get("feedback", 0),
        "valid_from": to_iso(rec["valid_from"]) if rec.get("valid_from") is not None else None,
        "valid_to": to_iso(rec["valid_to"]) if rec.get("valid_to") is not None else None,
    }


def pending_view(payload: bytes) -> dict[str, Any]:
    """An accepted add the pipeline has not finished yet, shown from its draft."""
    draft = decode_draft(payload)
    return {
        "id": draft["id"],
        "cube": draft["cube"],
        "agent": draft["agent"],
        "tier": draft["tier"],
        "kind": draft["kind"],
        "content": draft["content"],
        "tags": draft.get("tags") or [],
        "metadata": draft.get("metadata") or {},
        "created_at": to_iso(draft["created_at"]),
        "updated_at": to_iso(draft.get("updated_at") or draft["created_at"]),
        "version": 0,
        "status": "pending",
        "duplicate_of": None,
        "source_ids": draft.get("source_ids") or [],
        "tokens": None,
        "episode": draft.get("episode"),
        "tool": draft.get("tool"),
        "feedback": 0,
        "valid_from": None,
        "valid_to": None,
    }
