"""Builders for the interchange objects a format reader yields, and the small conversions they share.

Every reader turns its source into the same few shapes (an episode, a trace, a link, a vector), so
they are built here once: ids made stable and valid, times made ISO 8601, empty fields left out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pipeline.interchange.model import iso, to_ms

_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_ID_BAD_CHAR = re.compile(r"[^A-Za-z0-9_.:-]+")
_TAG_BAD = re.compile(r"[\x00-\x1f]+")


def source_id(*parts: object) -> str:
    """A memory id made from the source's own ids: readable when they fit our id rules, otherwise
    cleaned and suffixed with a hash of the original, so two different sources never meet."""
    raw = "-".join(str(p) for p in parts if p is not None and str(p) != "")
    if _ID_OK.fullmatch(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
    cleaned = _ID_BAD_CHAR.sub("_", raw).strip("_.:-")[:100]
    return f"{cleaned}-{digest}" if cleaned and cleaned[0].isalnum() else f"x{digest}"


def content_id(prefix: str, *parts: object) -> str:
    """An id for a source that has no stable ids of its own (a file renumbers them on each export)."""
    key = "\x1f".join(str(p) for p in parts)
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID_OK.fullmatch(value) is not None


def time_iso(value: Any, fallback: str | None = None) -> str | None:
    """A source's time as ISO 8601: seconds or milliseconds since the epoch, or an ISO string."""
    if value is None or value == "" or isinstance(value, bool):
        return fallback
    if isinstance(value, (int, float)):
        if value <= 0:
            return fallback
        ms = int(round(value * 1000)) if value < 1e11 else int(value)  # seconds vs milliseconds
        return iso(ms)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return time_iso(float(text), fallback)
        try:
            return iso(to_ms(text))
        except (ValueError, OverflowError):
            return fallback
    if isinstance(value, datetime):
        return iso(to_ms((value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()))
    return fallback


def clean_tags(tags: Iterable[Any]) -> list[str]:
    """Tags as the interchange model takes them: non-empty, no control characters, at most 128
    characters, each once, at most 64."""
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            continue
        text = _TAG_BAD.sub(" ", tag).strip()[:128]
        if text and text not in out:
            out.append(text)
    return out[:64]


def episode(episode_id: str, opened_at: str, *, task: str = "", closed_at: str | None = None,
            outcome: str = "unknown", agent: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"object": "episode", "id": episode_id, "task": task[:2000], "outcome": outcome,
                           "opened_at": opened_at}
    if closed_at is not None:
        out["closed_at"] = closed_at
    if agent is not None:
        out["agent"] = agent
    return out


def trace(memory_id: str, kind: str, content: str, created_at: str, platform: str, *,
          metadata: dict[str, Any] | None = None, tags: Iterable[Any] = (), episode_id: str | None = None,
          tool: dict[str, Any] | None = None, updated_at: str | None = None, valid_from: str | None = None,
          valid_until: str | None = None, status: str = "active", conversation_ref: str | None = None,
          message_ref: str | None = None, extraction_method: str | None = "api_export",
          platform_user_id: str | None = None, source_ids: Iterable[str] = ()) -> dict[str, Any]:
    """A trace record (tier `trace`): what a foreign system remembered, imported like a live write."""
    temporal: dict[str, Any] = {"created_at": created_at}
    for key, value in (("updated_at", updated_at), ("valid_from", valid_from), ("valid_until", valid_until)):
        if value is not None:
            temporal[key] = value
    provenance: dict[str, Any] = {"platform": platform}
    for key, value in (("platform_user_id", platform_user_id), ("conversation_ref", conversation_ref),
                       ("message_ref", message_ref), ("extraction_method", extraction_method)):
        if value is not None:
            provenance[key] = value
    out: dict[str, Any] = {"object": "memory", "id": memory_id, "tier": "trace", "kind": kind, "content": content,
                           "status": status, "tags": clean_tags(tags), "metadata": metadata or {},
                           "temporal": temporal, "provenance": provenance}
    sources = [s for s in source_ids if is_id(s)]
    if sources:
        out["source_ids"] = sources
    if episode_id is not None:
        out["episode"] = episode_id
    if tool is not None:
        out["tool"] = tool
    return out


def tool_call(name: str, arguments: Any, result: Any = None, *, failed: bool | None = None,
              duration_ms: int | None = None) -> dict[str, Any]:
    """A trace's tool call; arguments that are not a JSON object are kept under `input`."""
    args = arguments if isinstance(arguments, dict) else ({} if arguments in (None, "") else {"input": arguments})
    out: dict[str, Any] = {"name": (name or "tool")[:128], "arguments": args}
    if result is not None:
        out["result"] = result
    if failed is not None:
        out["status"] = "error" if failed else "ok"
    if duration_ms is not None and duration_ms >= 0:
        out["duration_ms"] = int(duration_ms)
    return out


def render_tool(tool: dict[str, Any]) -> str:
    """The text of a tool-call trace (its content): `name(arg=value, ...)`."""
    args = ", ".join(f"{k}={v}" for k, v in tool.get("arguments", {}).items())
    return f"{tool['name']}({args})"[:10_000]


def link(from_id: str, to_id: str, link_type: str, created_at: str,
         metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"object": "link", "from": from_id, "to": to_id, "type": link_type, "created_at": created_at,
            "metadata": metadata or {}}


def link_type(name: str) -> str:
    """A relation name from another system as one of our link types (`[a-z][a-z0-9_]{0,39}`)."""
    text = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")
    if not text or not text[0].isalpha():
        text = f"rel_{text}"
    return text[:40].rstrip("_") or "related_to"


def vector(memory_id: str, model: str, values: list[float]) -> dict[str, Any]:
    return {"object": "vector", "memory_id": memory_id, "model": model, "dimensions": len(values),
            "vector": [float(v) for v in values]}
