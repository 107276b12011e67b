"""How stored records are shown to clients (the JSON shape of a memory), derived from the record type."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pipeline.parse import decode_draft
from pipeline.records import Draft, MemoryRecord
from pipeline.timefmt import to_iso
from storage.cube.schema import TIME_COLUMNS

TIME_FIELDS = TIME_COLUMNS  # a record the cube reader returns holds a representable time in each
HIDDEN_FIELDS = ("content_hash",)  # identity for dedupe, not part of a memory's view


def memory_view(rec: MemoryRecord) -> dict[str, Any]:
    view = rec.as_dict()
    for name in HIDDEN_FIELDS:
        del view[name]
    for name in TIME_FIELDS:
        view[name] = to_iso(view[name]) if view[name] is not None else None
    return view


def pending_view(payload: bytes) -> dict[str, Any]:
    """An accepted add the pipeline has not finished yet, shown from its draft."""
    draft = Draft.from_dict(decode_draft(payload))
    # Not stored yet: no version and no token count; what it will first be indexed as, unknown.
    return memory_view(replace(draft.as_record(), version=0, status="pending", tokens=None))
