"""Builders for test inputs in the shapes the pipeline really receives."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipeline.parse import encode_draft
from pipeline.records import INTAKE_SCHEMA, derived_row

CUBE = "agent-alice"


def draft(memory_id: str, content: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": memory_id,
        "cube": fields.pop("cube", CUBE),
        "agent": fields.pop("agent", "alice"),
        "tier": "trace",
        "kind": fields.pop("kind", "note"),
        "content": content,
        "tags": fields.pop("tags", []),
        "metadata": fields.pop("metadata", {}),
        "created_at": fields.pop("created_at", 1_700_000_000_000),
        "source_ids": fields.pop("source_ids", []),
        **fields,
    }


def intake_batch(ops: list[tuple[str, dict[str, Any]]], first_seq: int = 1) -> pa.RecordBatch:
    """(op, draft) pairs as the intake log hands them to the pipeline."""
    rows = [
        {
            "seq": first_seq + i,
            "job_id": f"job-{i}",
            "op": op,
            "cube": d["cube"],
            "memory_id": d["id"],
            "payload": encode_draft(d),
        }
        for i, (op, d) in enumerate(ops)
    ]
    return pa.RecordBatch.from_pylist(rows, schema=INTAKE_SCHEMA)


def adds(*pairs: tuple[str, str], **fields: Any) -> pa.RecordBatch:
    return intake_batch([("add", draft(i, c, **dict(fields))) for i, c in pairs])


def stored_row(seq: int, memory_id: str, content: str = "text", op: str = "add", **fields: Any) -> dict[str, Any]:
    """A deduped pipeline row as the cube writer receives it (a new, active note unless told otherwise)."""
    values: dict[str, Any] = {
        "seq": seq, "job_id": "job", "op": op, "id": memory_id, "cube": "agent-a", "agent": "a", "tier": "trace",
        "kind": "note", "content": content, "index_text": content, "metadata": "{}", "created_at": 1000 + seq,
        "updated_at": 2000 + seq, "content_hash": f"h-{content}", "tokens": 2,
    }
    return derived_row(**{**values, **fields})
