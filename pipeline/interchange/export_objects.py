"""A cube's stored state as interchange objects (pure): records, versions, feedback, episodes, links, vectors.

Each function turns what the cube file holds into one line object of pipeline/interchange/model.py,
deterministically (same state, same bytes), so exporting twice gives the same bundle but for
`created_at`. Optional fields that are empty are left out, which keeps the vault's front matter
short; readers fill them with their defaults.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.interchange.model import iso, pam_type
from pipeline.records import MemoryRecord, Tier


def pam_content_hash(content: str) -> str:
    """PAM §6: sha256 of the trimmed, lowercased, NFC-normalised content with spaces collapsed."""
    normal = " ".join(unicodedata.normalize("NFC", content.strip().lower()).split())
    return "sha256:" + hashlib.sha256(normal.encode()).hexdigest()


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def memory_object(rec: MemoryRecord, superseded_by: str | None = None) -> dict[str, Any]:
    """One memory record, every field the cube keeps (its dedupe hash and token count are derived again)."""
    out: dict[str, Any] = {
        "object": "memory", "id": rec.id, "cube": rec.cube, "agent": rec.agent, "tier": rec.tier, "kind": rec.kind,
        "type": pam_type(rec.tier, rec.kind, rec.metadata or {}), "content": rec.content,
        "content_hash": pam_content_hash(rec.content), "status": rec.status, "version": rec.version,
        "tags": list(rec.tags), "metadata": rec.metadata if rec.metadata is not None else {},
        "source_ids": list(rec.source_ids),
    }
    if rec.duplicate_of is not None:
        out["duplicate_of"] = rec.duplicate_of
    if rec.episode is not None:
        out["episode"] = rec.episode
    if rec.tool is not None and rec.tier == Tier.TRACE:
        out["tool"] = rec.tool
    out["feedback"] = rec.feedback
    out["temporal"] = _drop_none({
        "created_at": iso(rec.created_at), "updated_at": iso(rec.updated_at),
        "valid_from": iso(rec.valid_from) if rec.valid_from is not None else None,
        "valid_until": iso(rec.valid_to) if rec.valid_to is not None else None,
        "superseded_by": superseded_by,
    })
    out["provenance"] = {"platform": "memos"}
    return out


def version_object(memory_id: str, tier: str, old: dict[str, Any]) -> dict[str, Any]:
    """An earlier version (a `memory_versions` row): a `skill_version` for a skill, else a `version`."""
    return {
        "object": "skill_version" if tier == Tier.SKILL else "version", "memory_id": memory_id,
        "version": old["version"], "kind": old["kind"], "content": old["content"], "tags": list(old["tags"]),
        "metadata": old["metadata"], "updated_at": iso(old["updated_at"]),
    }


def feedback_object(memory_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return _drop_none({"object": "feedback", "memory_id": memory_id, "signal": event["signal"],
                       "note": event["note"], "agent": event["agent"], "at": iso(event["at"])})


def episode_object(ep: dict[str, Any], cube: str) -> dict[str, Any]:
    return _drop_none({
        "object": "episode", "id": ep["id"], "cube": cube, "task": ep["task"], "agent": ep["agent"],
        "outcome": ep["outcome"], "opened_at": iso(ep["opened_at"]),
        "closed_at": iso(ep["closed_at"]) if ep["closed_at"] is not None else None,
    })


def link_object(link: dict[str, Any]) -> dict[str, Any]:
    return {"object": "link", "from": link["src"], "to": link["dst"], "type": link["type"],
            "created_at": iso(link["created_at"]), "metadata": link["metadata"] or {}}


def vector_object(vector: np.ndarray | Sequence[float], model: str, *, memory_id: str | None = None,
                  episode_id: str | None = None) -> dict[str, Any]:
    """float32 values written as the shortest float64 text that reads back to the same float32."""
    values = np.asarray(vector, dtype=np.float32).tolist()
    return _drop_none({"object": "vector", "memory_id": memory_id, "episode_id": episode_id, "model": model,
                       "dimensions": len(values), "vector": values})
