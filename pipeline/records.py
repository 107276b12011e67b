"""The shape of a memory, defined once: kinds, tiers, the record, draft, index and pipeline rows, their schemas."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa


class Kind(StrEnum):
    MESSAGE = "message"
    TOOL_CALL = "tool_call"
    IMAGE = "image"
    PERSONA = "persona"
    NOTE = "note"
    # Kinds the server derives; clients cannot write them directly.
    FACT = "fact"
    SUMMARY = "summary"
    SKILL = "skill"


CLIENT_KINDS = (Kind.MESSAGE, Kind.TOOL_CALL, Kind.IMAGE, Kind.PERSONA, Kind.NOTE)
# Traces the world-model stage reads facts from.
FACT_SOURCE_KINDS = frozenset({Kind.MESSAGE.value, Kind.PERSONA.value, Kind.NOTE.value})


class Tier(StrEnum):
    TRACE = "trace"
    WORLD = "world"
    SKILL = "skill"


class Status(StrEnum):
    ACTIVE = "active"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"  # a world fact a newer one replaced, or one closed as outdated
    ARCHIVED = "archived"  # put aside by a cleanup or retention rule: out of search, listable, restorable


class Op(StrEnum):
    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"
    FACT = "fact"  # a world fact to reconcile with the cube's world model (derived, or a correction)
    EPISODE = "episode"  # open or close an episode
    FEEDBACK = "feedback"  # a signal on a memory
    LINK = "link"  # a typed link between memories
    SKILL = "skill"  # a new version of a crystallized skill (derived)
    RESTORE = "restore"  # an interchange bundle's object, stored as it was exported (storage/cube/restore.py)
    STATUS = "status"  # archive a memory or restore an archived one (service/cleanup.py)


# Ops that carry a memory body the embed stage must embed.
EMBEDDED_OPS = frozenset({Op.ADD.value, Op.UPDATE.value, Op.FACT.value, Op.SKILL.value, Op.RESTORE.value})


class Dedupe(StrEnum):
    """What the dedupe stage decided for one row."""

    NEW = "new"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    EXISTS = "exists"  # the id is already stored: a replay or a repeated write, a no-op
    SKIPPED = "skipped"  # not an add (update, delete) or a row that already failed


# What the front door appends to the intake log, one row per operation.
INTAKE_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("job_id", pa.string()),
        ("op", pa.string()),
        ("cube", pa.string()),
        ("memory_id", pa.string()),
        ("payload", pa.binary()),
    ]
)


# --- the one definition of a memory's fields ----------------------------------------------------
# Each dataclass below is the single place its fields are named. The Arrow schemas of the
# pipeline, the SQL column lists of the cube file and the API's view of a memory are derived from
# them (`arrow_fields`, `column_names`), so adding a field is one line here.

JSON = "json"  # a field held as JSON text in Arrow batches and SQLite columns


def _col(arrow: pa.DataType, default: Any = MISSING, *, json: bool = False) -> Any:
    meta = {"arrow": arrow, JSON: json}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """A stored memory as the cube file holds it (JSON columns decoded)."""

    id: str = _col(pa.string())
    cube: str = _col(pa.string())
    agent: str = _col(pa.string())
    tier: str = _col(pa.string())
    kind: str = _col(pa.string())
    content: str = _col(pa.string())
    tags: list[str] = _col(pa.list_(pa.string()), json=True)
    metadata: dict[str, Any] = _col(pa.string(), json=True)
    created_at: int = _col(pa.int64())
    updated_at: int = _col(pa.int64())
    version: int = _col(pa.int64(), 1)
    status: str = _col(pa.string(), "active")
    content_hash: str = _col(pa.string(), "")
    source_ids: list[str] = _col(pa.list_(pa.string()), [], json=True)
    duplicate_of: str | None = _col(pa.string(), None)
    tokens: int = _col(pa.int32(), 0)
    episode: str | None = _col(pa.string(), None)
    tool: dict[str, Any] | None = _col(pa.string(), None, json=True)
    feedback: int = _col(pa.int64(), 0)
    valid_from: int | None = _col(pa.int64(), None)
    valid_to: int | None = _col(pa.int64(), None)
    expires_at: int | None = _col(pa.int64(), None)  # gone from every read at this time; the sweeper deletes it

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass(slots=True, eq=False)  # compared by identity: it holds a numpy vector
class IndexRow:
    """What the derived indexes (Lance, tantivy, hot vectors) hold of one active memory."""

    id: str
    cube: str
    tier: str
    kind: str
    index_text: str
    tags: list[str]
    created_at: int
    status: str
    vector: np.ndarray | None = None
    context: str | None = None  # the text with its neighbouring turns (BM25), set by the writer


@dataclass(slots=True)
class Draft:
    """A memory body as a client's write (or a derived memory) puts it in the intake log."""

    id: str
    cube: str
    agent: str
    tier: str
    kind: str
    content: str
    created_at: int
    updated_at: int
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    source_ids: list[str] = field(default_factory=list)
    episode: str | None = None
    tool: dict[str, Any] | None = None
    base_version: int | None = None  # updates: the version the change was made against
    reembed: bool = True  # updates: whether the index text changed
    expires_at: int | None = None

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Draft:
        """A draft read back from the intake log (older entries may lack the optional fields)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        out = plain(self)
        if self.base_version is None:  # adds carry neither key, as they always have
            del out["base_version"], out["reembed"]
        if self.expires_at is None:  # nor an expiry they do not have
            del out["expires_at"]
        return out

    def as_record(self) -> MemoryRecord:
        """The record this draft describes, before the pipeline has stored it."""
        shared = {f.name: getattr(self, f.name) for f in fields(MemoryRecord) if hasattr(self, f.name)}
        return MemoryRecord(**shared)


@dataclass(slots=True)
class PipelineRow:
    """One operation as it moves through the stages (an Arrow row). JSON fields are text here."""

    seq: int = _col(pa.int64())
    job_id: str = _col(pa.string())
    op: str = _col(pa.string())
    id: str = _col(pa.string())
    cube: str = _col(pa.string())
    agent: str | None = _col(pa.string(), None)
    tier: str | None = _col(pa.string(), None)
    kind: str | None = _col(pa.string(), None)
    content: str | None = _col(pa.string(), None)
    index_text: str | None = _col(pa.string(), None)
    tags: list[str] = _col(pa.list_(pa.string()), [])
    metadata: str | None = _col(pa.string(), None)  # JSON
    created_at: int | None = _col(pa.int64(), None)
    updated_at: int | None = _col(pa.int64(), None)
    content_hash: str | None = _col(pa.string(), None)
    source_ids: list[str] = _col(pa.list_(pa.string()), [])
    tokens: int | None = _col(pa.int32(), None)
    base_version: int | None = _col(pa.int64(), None)
    reembed: bool = _col(pa.bool_(), True)
    episode: str | None = _col(pa.string(), None)
    tool: str | None = _col(pa.string(), None)  # JSON: a tool call's name, arguments, result, status, duration_ms
    attrs: str | None = _col(pa.string(), None)  # JSON: what an op needs beyond a memory (fact, episode, ...)
    error: str | None = _col(pa.string(), None)
    expires_at: int | None = _col(pa.int64(), None)

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass(slots=True)
class DedupeColumns:
    """What the dedupe stage adds to each row."""

    dedupe: str | None = _col(pa.string(), None)
    status: str | None = _col(pa.string(), None)
    duplicate_of: str | None = _col(pa.string(), None)
    near_duplicate_of: str | None = _col(pa.string(), None)
    near_duplicate_score: float | None = _col(pa.float32(), None)

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


def column_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


_GETTERS: dict[type, tuple[tuple[str, ...], attrgetter]] = {}


def plain(obj: Any) -> dict[str, Any]:
    """A record's fields as a dict. Runs per row on the write path, so each class's names and
    getter are computed once (dataclasses.asdict and fields() cost several times more)."""
    cls = type(obj)
    got = _GETTERS.get(cls)
    if got is None:
        names = column_names(cls)
        got = _GETTERS[cls] = (names, attrgetter(*names))
    return dict(zip(got[0], got[1](obj)))


def json_columns(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if f.metadata.get(JSON))


def arrow_fields(cls: type) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.metadata["arrow"]) for f in fields(cls)]


# What the parse stage produces; embed and dedupe append their columns to it.
PARSED_FIELDS = arrow_fields(PipelineRow)
PARSED_SCHEMA = pa.schema(PARSED_FIELDS)
DEDUPE_FIELDS = arrow_fields(DedupeColumns)


def vector_type(dim: int) -> pa.DataType:
    return pa.list_(pa.float32(), dim)


def embedded_schema(dim: int) -> pa.Schema:
    return PARSED_SCHEMA.append(pa.field("vector", vector_type(dim)))


def deduped_schema(dim: int) -> pa.Schema:
    schema = embedded_schema(dim)
    for name, type_ in DEDUPE_FIELDS:
        schema = schema.append(pa.field(name, type_))
    return schema


def derived_row(**values: Any) -> dict[str, Any]:
    """A deduped pipeline row the stages make themselves (facts, summaries, skills): new and active."""
    dedupe = {k: values.pop(k) for k in column_names(DedupeColumns) if k in values}
    vector = values.pop("vector", None)
    return {**PipelineRow(**values).as_dict(), "vector": vector,
            **DedupeColumns(**{"dedupe": Dedupe.NEW.value, "status": Status.ACTIVE.value, **dedupe}).as_dict()}
