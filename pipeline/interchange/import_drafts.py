"""Interchange objects as the drafts the write pipeline takes (pure).

Two ways in, by where a bundle comes from:

- **restore** (our own bundles: `.memos.jsonl`, `.memos.zip`, the Markdown vault): every object is a
  `restore` op carrying the state it was exported with (status, version, net feedback, validity),
  which the cube writer stores as it is (storage/cube/restore.py). The rows still pass every
  stage (parse derives the index text, hash and tokens; embed embeds unless the bundle's vector
  is reused); what the deriving stages would derive (world facts, summaries, skills) is in the
  bundle already, so they leave restore rows alone.
- **live** (other systems' formats): traces are `add` ops, episodes `episode` open and close ops,
  links `link` ops, feedback `feedback` ops, exactly what the HTTP API drafts, so world facts are
  read from imported messages and closed episodes are summarized as if posted. World and skill
  records, which no live write can make, are restored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pipeline.interchange.model import to_ms
from pipeline.parse import content_hash
from pipeline.records import Kind, Op, Tier


@dataclass(frozen=True)
class PlannedOp:
    """One write an import makes: the op, its target (memory, episode or link source) and its draft."""

    op: str
    target: str
    fields: dict[str, Any]


def _ms(value: str | None) -> int | None:
    return to_ms(value) if value is not None else None


def stored_hash(tier: str, kind: str, content: str) -> str | None:
    """The dedupe hash the pipeline gives a derived record (facts, summaries, skills), so a restored
    one is identical to the original; None: the parse stage's hash of a client write applies."""
    if tier == Tier.WORLD:
        return hashlib.sha256(f"fact\x1f{content.casefold()}".encode()).hexdigest()  # pipeline/world_stage.py fact_row
    if kind in (Kind.SUMMARY, Kind.SKILL):
        return content_hash(kind, content, {})  # pipeline/crystallize_stage.py derived_rows
    return None


def _memory_body(obj: dict[str, Any], cube: str, agent: str) -> dict[str, Any]:
    t = obj["temporal"]
    body = {
        "id": obj["id"], "cube": cube, "agent": obj.get("agent") or agent, "tier": obj["tier"],
        "kind": obj.get("kind") or _default_kind(obj["tier"]), "content": obj["content"],
        "created_at": to_ms(t["created_at"]), "updated_at": to_ms(t.get("updated_at") or t["created_at"]),
        "tags": list(dict.fromkeys(obj.get("tags") or [])), "metadata": obj.get("metadata") or {},
        "source_ids": list(obj.get("source_ids") or []), "episode": obj.get("episode"), "tool": obj.get("tool"),
    }
    if obj.get("image"):  # its bytes were stored in the target cube before this was planned (service/interchange.py)
        body["image"] = obj["image"]
    return body


def _default_kind(tier: str) -> str:
    return {"trace": Kind.NOTE.value, "world": Kind.FACT.value, "skill": Kind.SKILL.value}[tier]


def restore_memory(obj: dict[str, Any], cube: str, agent: str, *, replace_version: int | None = None,
                   now: int | None = None) -> PlannedOp:
    """A memory as exported; with `replace_version` (the stored version it was compared with) it
    becomes that memory's next version, stamped `now`."""
    body = _memory_body(obj, cube, agent)
    t = obj["temporal"]
    state: dict[str, Any] = {
        "status": obj.get("status") or "active", "version": int(obj.get("version") or 1),
        "feedback": int(obj.get("feedback") or 0), "valid_from": _ms(t.get("valid_from")),
        "valid_to": _ms(t.get("valid_until")), "duplicate_of": obj.get("duplicate_of"),
        "content_hash": stored_hash(body["tier"], body["kind"], body["content"]),
    }
    if replace_version is not None:
        state.update(replace=True, base_version=replace_version)
        body["updated_at"] = now if now is not None else body["updated_at"]
    return PlannedOp(Op.RESTORE.value, body["id"], {**body, "object": "memory", "restore": state})


def restore_version(obj: dict[str, Any], cube: str, agent: str) -> PlannedOp:
    state = {"version": obj["version"], "kind": obj["kind"], "content": obj["content"], "tags": obj.get("tags") or [],
             "metadata": obj.get("metadata") or {}, "updated_at": to_ms(obj["updated_at"])}
    return PlannedOp(Op.RESTORE.value, obj["memory_id"],
                     {"id": obj["memory_id"], "cube": cube, "agent": agent, "object": "version", "restore": state})


def restore_episode(obj: dict[str, Any], cube: str, agent: str, task_vector: list[float] | None) -> PlannedOp:
    state = {"task": obj.get("task") or "", "outcome": obj.get("outcome") or "unknown",
             "opened_at": to_ms(obj["opened_at"]), "closed_at": _ms(obj.get("closed_at")), "task_vector": task_vector}
    return PlannedOp(Op.RESTORE.value, obj["id"], {"id": obj["id"], "cube": cube, "agent": obj.get("agent") or agent,
                                                   "object": "episode", "restore": state})


def restore_feedback(obj: dict[str, Any], cube: str, agent: str) -> PlannedOp:
    state = {"signal": obj["signal"], "note": obj.get("note"), "at": to_ms(obj["at"])}
    return PlannedOp(Op.RESTORE.value, obj["memory_id"], {"id": obj["memory_id"], "cube": cube,
                                                          "agent": obj.get("agent") or agent, "object": "feedback",
                                                          "restore": state})


def restore_link(obj: dict[str, Any], cube: str, agent: str) -> PlannedOp:
    src = obj.get("from") or obj.get("from_")
    state = {"type": obj["type"], "dst": obj["to"], "at": to_ms(obj["created_at"]), "metadata": obj.get("metadata") or {}}
    return PlannedOp(Op.RESTORE.value, src, {"id": src, "cube": cube, "agent": agent, "object": "link", "restore": state})


# --- live: what the HTTP API would have drafted --------------------------------------------------


def add_trace(obj: dict[str, Any], cube: str, agent: str, now: int) -> PlannedOp:
    """A trace from another system, as `POST /v1/memories` drafts it (the importing agent writes it)."""
    body = {**_memory_body(obj, cube, agent), "agent": agent, "tier": Tier.TRACE.value, "updated_at": now}
    return PlannedOp(Op.ADD.value, body["id"], body)


def open_episode(obj: dict[str, Any], cube: str, agent: str) -> PlannedOp:
    return PlannedOp(Op.EPISODE.value, obj["id"], {"id": obj["id"], "cube": cube, "agent": agent, "action": "open",
                                                   "task": obj.get("task") or "", "at": to_ms(obj["opened_at"])})


def close_episode(obj: dict[str, Any], cube: str, agent: str) -> PlannedOp:
    return PlannedOp(Op.EPISODE.value, obj["id"], {
        "id": obj["id"], "cube": cube, "agent": agent, "action": "close", "outcome": obj.get("outcome") or "unknown",
        "task": obj.get("task") or "", "at": to_ms(obj["closed_at"])})


def live_feedback(obj: dict[str, Any], cube: str, agent: str) -> PlannedOp:
    return PlannedOp(Op.FEEDBACK.value, obj["memory_id"], {
        "id": obj["memory_id"], "cube": cube, "agent": agent, "signal": obj["signal"], "note": obj.get("note"),
        "correction": None, "at": to_ms(obj["at"]), "target_kind": None, "target_fact": None})


def live_link(obj: dict[str, Any], cube: str, agent: str) -> PlannedOp:
    src = obj.get("from") or obj.get("from_")
    return PlannedOp(Op.LINK.value, src, {"id": src, "cube": cube, "agent": agent, "dst": obj["to"], "type": obj["type"],
                                          "metadata": obj.get("metadata") or {}, "at": to_ms(obj["created_at"])})
