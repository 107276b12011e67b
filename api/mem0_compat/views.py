"""MemOS memories in mem0's shapes: a memory, a search hit, a history entry."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from api.mem0_compat.scopes import ENTITIES, is_scope_tag, scope_of


def mem0_memory(memory: Mapping[str, Any]) -> dict[str, Any]:
    """A MemOS memory view (service/views.py, or a search hit) as mem0 shows a memory.

    mem0 names the run `run_id` in search results and `session_id` in listings; both are given.
    A memory written through /v1 has no mem0 scope; its metadata is shown as it is.
    """
    metadata = memory.get("metadata") or {}
    scope = scope_of(metadata)
    content = memory["content"]
    return {
        "id": memory["id"],
        "memory": content,
        "hash": hashlib.md5(content.encode()).hexdigest(),  # what mem0 reports: the md5 of the text
        **{name: scope.get(name) for name in ENTITIES},
        "session_id": scope.get("run_id"),
        "metadata": scope.get("metadata") if scope else metadata,
        "categories": [t for t in memory.get("tags", []) if not is_scope_tag(t)],
        "expiration_date": scope.get("expiration_date"),
        "created_at": memory.get("created_at"),
        "updated_at": memory.get("updated_at"),
    }


def mem0_hit(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A search result: mem0's `score` is a similarity in [0, 1], which is the vector channel's cosine
    (0 for a memory only BM25 found); the order is MemOS's fused ranking."""
    scores = hit.get("scores") or {}
    semantic = scores.get("vector")
    return {
        **mem0_memory(hit),
        "score": round(min(max(semantic or 0.0, 0.0), 1.0), 6),
        "score_breakdown": {"semantic": semantic, "bm25": scores.get("bm25")},
    }


def mem0_history(memory_id: str, history: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GraphService.history (versions oldest first) as mem0's history: one ADD, then an UPDATE per change."""
    entries: list[dict[str, Any]] = []
    previous: str | None = None
    for version in history["versions"]:
        scope = scope_of(version.get("metadata") or {})
        entries.append({
            "id": f"{memory_id}-v{version['version']}",
            "memory_id": memory_id,
            "input": [],
            "old_memory": previous,
            "new_memory": version["content"],
            "event": "ADD" if previous is None else "UPDATE",
            **{name: scope.get(name) for name in ENTITIES},
            "session_id": scope.get("run_id"),
            "metadata": scope.get("metadata") if scope else version.get("metadata"),
            "categories": [t for t in version.get("tags", []) if not is_scope_tag(t)],
            "is_deleted": False,
            "created_at": version["updated_at"],
            "updated_at": version["updated_at"],
        })
        previous = version["content"]
    return entries
