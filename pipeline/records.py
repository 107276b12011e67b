"""The shape of a memory as it moves through the write pipeline: kinds, tiers, Arrow schemas."""

from __future__ import annotations

from enum import StrEnum

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


class Op(StrEnum):
    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"
    FACT = "fact"  # a world fact to reconcile with the cube's world model (derived, or a correction)
    EPISODE = "episode"  # open or close an episode
    FEEDBACK = "feedback"  # a signal on a memory
    LINK = "link"  # a typed link between memories
    SKILL = "skill"  # a new version of a crystallized skill (derived)


# Ops that carry a memory body the embed stage must embed.
EMBEDDED_OPS = frozenset({Op.ADD.value, Op.UPDATE.value, Op.FACT.value, Op.SKILL.value})


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

# What the parse stage produces; embed and dedupe append their columns to it.
PARSED_FIELDS = [
    ("seq", pa.int64()),
    ("job_id", pa.string()),
    ("op", pa.string()),
    ("id", pa.string()),
    ("cube", pa.string()),
    ("agent", pa.string()),
    ("tier", pa.string()),
    ("kind", pa.string()),
    ("content", pa.string()),
    ("index_text", pa.string()),
    ("tags", pa.list_(pa.string())),
    ("metadata", pa.string()),
    ("created_at", pa.int64()),
    ("updated_at", pa.int64()),
    ("content_hash", pa.string()),
    ("source_ids", pa.list_(pa.string())),
    ("tokens", pa.int32()),
    ("base_version", pa.int64()),
    ("reembed", pa.bool_()),
    ("episode", pa.string()),
    ("tool", pa.string()),  # JSON: a tool call's name, arguments, result, status, duration_ms
    ("attrs", pa.string()),  # JSON: what an op needs beyond a memory (fact, episode, feedback, link, skill)
    ("error", pa.string()),
]
PARSED_SCHEMA = pa.schema(PARSED_FIELDS)


def vector_type(dim: int) -> pa.DataType:
    return pa.list_(pa.float32(), dim)


def embedded_schema(dim: int) -> pa.Schema:
    return PARSED_SCHEMA.append(pa.field("vector", vector_type(dim)))


DEDUPE_FIELDS = [
    ("dedupe", pa.string()),
    ("status", pa.string()),
    ("duplicate_of", pa.string()),
    ("near_duplicate_of", pa.string()),
    ("near_duplicate_score", pa.float32()),
]


def deduped_schema(dim: int) -> pa.Schema:
    schema = embedded_schema(dim)
    for name, type_ in DEDUPE_FIELDS:
        schema = schema.append(pa.field(name, type_))
    return schema
