"""A memory as a client sends it, turned into what the service takes, and the status its answer gets.

Shared by the accept route (api/routers/memories.py) and its fast path (api/accept_fast_path.py),
so the two cannot drift apart on what a write means or how it is answered.
"""

from __future__ import annotations

from api.schemas import MemoryIn
from pipeline.timefmt import to_ms
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
    )


def accept_status(accepted: Accepted) -> int:
    """201 with the stored memory, 200 for an id written before, else 202 queued."""
    return 201 if accepted.memory is not None else (200 if accepted.status == "exists" else 202)
