"""Flat Arrow tables of a bundle (records, links, vectors) with fixed schemas, for Parquet.

Nothing here is inferred from the rows: a column whose values are free JSON (metadata, a tool
call's arguments and result, a link's metadata) is JSON text, so a cube whose tool results mix
strings and objects writes as well as any other (an inferred struct column raised ArrowInvalid
halfway through an export before).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa

from pipeline.interchange.model import to_ms

_TIME = pa.timestamp("ms", tz="UTC")

RECORD_SCHEMA = pa.schema([
    ("id", pa.string()), ("cube", pa.string()), ("agent", pa.string()), ("tier", pa.string()), ("kind", pa.string()),
    ("content", pa.string()), ("status", pa.string()), ("version", pa.int64()), ("tags", pa.list_(pa.string())),
    ("metadata", pa.string()), ("source_ids", pa.list_(pa.string())), ("duplicate_of", pa.string()),
    ("episode", pa.string()), ("tool", pa.string()), ("feedback", pa.int64()), ("created_at", _TIME),
    ("updated_at", _TIME), ("valid_from", _TIME), ("valid_until", _TIME),
])
LINK_SCHEMA = pa.schema([("from", pa.string()), ("to", pa.string()), ("type", pa.string()), ("created_at", _TIME),
                         ("metadata", pa.string())])
VECTOR_SCHEMA = pa.schema([("memory_id", pa.string()), ("episode_id", pa.string()), ("model", pa.string()),
                           ("dimensions", pa.int32()), ("vector", pa.list_(pa.float32()))])
# The legacy export (`GET /v1/cubes/{id}/export?format=parquet`): the API's memory view, flat.
VIEW_SCHEMA = pa.schema([
    ("id", pa.string()), ("cube", pa.string()), ("agent", pa.string()), ("tier", pa.string()), ("kind", pa.string()),
    ("content", pa.string()), ("tags", pa.list_(pa.string())), ("metadata", pa.string()), ("created_at", pa.string()),
    ("updated_at", pa.string()), ("version", pa.int64()), ("status", pa.string()), ("source_ids", pa.list_(pa.string())),
    ("duplicate_of", pa.string()), ("tokens", pa.int64()), ("episode", pa.string()), ("tool", pa.string()),
    ("feedback", pa.int64()), ("valid_from", pa.string()), ("valid_to", pa.string()),
])


def _json(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


def _time(value: str | None) -> int | None:
    return to_ms(value) if value is not None else None


def record_row(obj: dict[str, Any]) -> dict[str, Any]:
    t = obj["temporal"]
    return {
        "id": obj["id"], "cube": obj.get("cube"), "agent": obj.get("agent"), "tier": obj["tier"],
        "kind": obj.get("kind"), "content": obj["content"], "status": obj.get("status", "active"),
        "version": obj.get("version", 1), "tags": obj.get("tags") or [], "metadata": _json(obj.get("metadata") or {}),
        "source_ids": obj.get("source_ids") or [], "duplicate_of": obj.get("duplicate_of"),
        "episode": obj.get("episode"), "tool": _json(obj.get("tool")), "feedback": obj.get("feedback", 0),
        "created_at": _time(t["created_at"]), "updated_at": _time(t.get("updated_at")),
        "valid_from": _time(t.get("valid_from")), "valid_until": _time(t.get("valid_until")),
    }


def link_row(obj: dict[str, Any]) -> dict[str, Any]:
    return {"from": obj["from"], "to": obj["to"], "type": obj["type"], "created_at": _time(obj["created_at"]),
            "metadata": _json(obj.get("metadata") or {})}


def vector_row(obj: dict[str, Any]) -> dict[str, Any]:
    return {"memory_id": obj.get("memory_id"), "episode_id": obj.get("episode_id"), "model": obj["model"],
            "dimensions": obj["dimensions"], "vector": obj["vector"]}


def vector_object_of(row: dict[str, Any]) -> dict[str, Any]:
    out = {"object": "vector", "memory_id": row["memory_id"], "episode_id": row["episode_id"], "model": row["model"],
           "dimensions": row["dimensions"], "vector": row["vector"]}
    return {k: v for k, v in out.items() if v is not None}


def view_table(views: Iterable[dict[str, Any]]) -> pa.Table:
    """Memory views (service/views.py memory_view) as one table of VIEW_SCHEMA."""
    rows = [{**{name: v.get(name) for name in VIEW_SCHEMA.names}, "metadata": _json(v.get("metadata") or {}),
             "tool": _json(v.get("tool"))} for v in views]
    return pa.Table.from_pylist(rows, schema=VIEW_SCHEMA)
