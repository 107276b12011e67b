"""A memory as a client sends it, turned into what the service takes, and the status its answer gets.

Shared by the accept route (api/routers/memories.py) and its fast path (api/accept_fast_path.py),
so the two cannot drift apart on what a write means or how it is answered.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from api.schemas import MemoryIn
from pipeline.errors import Invalid
from pipeline.timefmt import now_ms, to_ms
from service.memories import Accepted, NewMemory


def new_memory(body: MemoryIn, default_cube: str | None = None) -> NewMemory:
    return NewMemory(
        content=body.content,
        kind=body.kind,
        tags=tuple(body.tags),
        metadata=body.metadata,
        id=body.id,
        created_at=to_ms(body.created_at) if body.created_at is not None else None,
        source_ids=tuple(body.source_ids),
        cube=body.cube or default_cube,
        episode=body.episode,
        tool=body.tool.model_dump() if body.tool is not None else None,
        expires_at=expiry_ms(body.expires_at, body.ttl_s),
        image=image_bytes(body.image) if body.image is not None else None,
        keep_gps=body.keep_gps,
    )


def image_bytes(encoded: str) -> bytes:
    """The JSON form's `image`: standard base64 (the schema's pattern holds the alphabet; this, the padding)."""
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("image: not valid base64 (RFC 4648, standard alphabet, padded)") from None


def expiry_ms(expires_at: datetime | None, ttl_s: int | None) -> int | None:
    """When a write or a patch says the memory expires, in stored milliseconds (None: it does not)."""
    if expires_at is not None:
        return to_ms(expires_at)
    return now_ms() + ttl_s * 1000 if ttl_s is not None else None


def accept_status(accepted: Accepted) -> int:
    """201 with the stored memory, 200 for an id written before, else 202 queued."""
    return 201 if accepted.memory is not None else (200 if accepted.status == "exists" else 202)
