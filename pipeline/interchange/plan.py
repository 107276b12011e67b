"""What an import does with each object, given what the cube already holds (pure).

The same plan serves a real import and `--dry-run` (which stops before writing), so a dry run
counts exactly what the import would add, update and skip.

A memory whose id is stored already is compared with the stored one (every field but the derived
ones): the same is skipped, which makes importing a bundle twice store nothing new. A different
one at the *same* version is an edit made on that version (an edited vault file): it becomes the
memory's next version. A different one at another version is a conflict, settled by
`on_conflict`: `skip` keeps the stored memory, `overwrite` stores the bundle's as the next
version, `new-ids` (decided before planning, see `remap`) gives every imported object a fresh id.

Versions, feedback events and vectors belong to the memory just before them in the bundle (the
order the model prescribes): they are written only when that memory is added by this import, so a
skipped or conflicting memory never gets another lineage's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pipeline.interchange import import_drafts as drafts
from pipeline.interchange.export_objects import memory_object
from pipeline.interchange.model import to_ms
from pipeline.records import MemoryRecord, Tier


class OnConflict(StrEnum):
    SKIP = "skip"
    OVERWRITE = "overwrite"
    NEW_IDS = "new-ids"


class Mode(StrEnum):
    RESTORE = "restore"  # our own bundles: objects stored with their state
    LIVE = "live"  # other systems' formats: traces written as a client would


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    SKIPPED = "skipped"


@dataclass
class Tally:
    """Counts of an import (or a dry run), overall and per object type."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)

    def count(self, object_type: str, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)
        per = self.by_type.setdefault(object_type, {"added": 0, "updated": 0, "skipped": 0})
        per[outcome.value] += 1

    def fail(self, n: int, examples: Iterable[str]) -> None:
        self.errors += n
        self.error_examples = (self.error_examples + list(examples))[:20]

    def summary(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "skipped": self.skipped, "errors": self.errors}


@dataclass(frozen=True)
class Stored:
    """What the cube holds of one batch's objects."""

    records: dict[str, MemoryRecord]
    episodes: dict[str, dict[str, Any]]
    links: set[tuple[str, str, str]]


@dataclass(frozen=True)
class Wanted:
    """The keys one batch's objects would be looked up by."""

    memories: list[str]
    episodes: list[str]
    links: list[str]


def wanted(items: Iterable[dict[str, Any]]) -> Wanted:
    memories, episodes, links = [], [], []
    for obj in items:
        kind = obj["object"]
        if kind == "memory":
            memories.append(obj["id"])
        elif kind == "episode":
            episodes.append(obj["id"])
        elif kind == "link":
            links.append(obj["from"])
    return Wanted(list(dict.fromkeys(memories)), episodes, links)


_DERIVED_KEYS = ("object", "cube", "type", "content_hash", "provenance")
_DEFAULTS: dict[str, Any] = {"status": "active", "version": 1, "tags": [], "metadata": {}, "source_ids": [],
                             "feedback": 0}


def comparable(obj: dict[str, Any], agent: str) -> dict[str, Any]:
    """A memory object with what import ignores left out and defaults filled, times in milliseconds."""
    out = {k: v for k, v in obj.items() if k not in _DERIVED_KEYS and v is not None}
    for key, default in _DEFAULTS.items():
        out.setdefault(key, default)
    out.setdefault("kind", {"trace": "note", "world": "fact", "skill": "skill"}[obj["tier"]])
    out["agent"] = obj.get("agent") or agent
    t = obj["temporal"]
    out["temporal"] = {k: to_ms(v) for k, v in t.items() if k != "superseded_by" and v is not None}
    out["temporal"].setdefault("updated_at", out["temporal"]["created_at"])
    out["tags"] = list(dict.fromkeys(out["tags"]))
    return out


class Planner:
    """Plans one import's objects batch by batch, remembering only the memory it is on."""

    def __init__(self, mode: Mode, on_conflict: OnConflict, cube: str, agent: str, now: int,
                 reuse_vectors: Callable[[dict[str, Any]], bool]) -> None:
        self._mode, self._on_conflict = mode, on_conflict
        self._cube, self._agent, self._now = cube, agent, now
        self._reuse = reuse_vectors
        self._last_memory: str | None = None
        self._last_added = False
        self.closes: list[drafts.PlannedOp] = []  # live episodes close after all their traces are in
        self.tally = Tally()

    def plan(self, items: list[dict[str, Any]], stored: Stored) -> tuple[list[drafts.PlannedOp], dict[str, list[float]]]:
        """The ops for one batch, in bundle order, and the vectors to reuse (memory id -> vector)."""
        ops: list[drafts.PlannedOp] = []
        vectors: dict[str, list[float]] = {}
        pending_episode: list[tuple[int, dict[str, Any]]] = []
        for obj in items:
            kind = obj["object"]
            if kind == "memory":
                self._memory(obj, stored, ops)
            elif kind == "vector":
                self._vector(obj, vectors, ops, pending_episode)
            elif kind in ("version", "skill_version", "feedback"):
                self._belonging(obj, kind, ops)
            elif kind == "episode":
                self._episode(obj, stored, ops, pending_episode)
            elif kind == "link":
                self._link(obj, stored, ops)
        return ops, vectors

    # --- memories ----------------------------------------------------------------------------

    def _memory(self, obj: dict[str, Any], stored: Stored, ops: list[drafts.PlannedOp]) -> None:
        self._last_memory, self._last_added = obj["id"], False
        current = stored.records.get(obj["id"])
        live_trace = self._mode is Mode.LIVE and obj["tier"] == Tier.TRACE
        if current is None:
            make = drafts.add_trace(obj, self._cube, self._agent, self._now) if live_trace \
                else drafts.restore_memory(obj, self._cube, self._agent)
            ops.append(make)
            self._last_added = True
            self.tally.count("memory", Outcome.ADDED)
            return
        if live_trace or comparable(memory_object(current), self._agent) == comparable(obj, self._agent):
            self.tally.count("memory", Outcome.SKIPPED)
            return
        edit = int(obj.get("version") or 1) == current.version
        if edit or self._on_conflict is OnConflict.OVERWRITE:
            ops.append(drafts.restore_memory(obj, self._cube, self._agent, replace_version=current.version,
                                             now=self._now))
            self.tally.count("memory", Outcome.UPDATED)
            return
        self.tally.count("memory", Outcome.SKIPPED)

    def _vector(self, obj: dict[str, Any], vectors: dict[str, list[float]], ops: list[drafts.PlannedOp],
                pending_episode: list[tuple[int, dict[str, Any]]]) -> None:
        if obj.get("episode_id") is not None:
            for i, ep in pending_episode:
                if ep["id"] == obj["episode_id"] and self._reuse(obj):
                    op = ops[i]
                    ops[i] = drafts.PlannedOp(op.op, op.target, {**op.fields, "restore": {
                        **op.fields["restore"], "task_vector": obj["vector"]}})
            return
        if obj.get("memory_id") == self._last_memory and self._last_added and self._reuse(obj):
            vectors[obj["memory_id"]] = obj["vector"]

    def _belonging(self, obj: dict[str, Any], kind: str, ops: list[drafts.PlannedOp]) -> None:
        """A version or feedback event: written with the memory it follows, when that one is new here."""
        object_type = kind
        if obj["memory_id"] != self._last_memory or not self._last_added:
            self.tally.count(object_type, Outcome.SKIPPED)
            return
        if kind == "feedback":
            ops.append(drafts.live_feedback(obj, self._cube, self._agent) if self._mode is Mode.LIVE
                       else drafts.restore_feedback(obj, self._cube, self._agent))
        elif self._mode is Mode.RESTORE:
            ops.append(drafts.restore_version(obj, self._cube, self._agent))
        else:
            self.tally.count(object_type, Outcome.SKIPPED)  # a live write has no history to bring
            return
        self.tally.count(object_type, Outcome.ADDED)

    # --- episodes and links ------------------------------------------------------------------

    def _episode(self, obj: dict[str, Any], stored: Stored, ops: list[drafts.PlannedOp],
                 pending_episode: list[tuple[int, dict[str, Any]]]) -> None:
        current = stored.episodes.get(obj["id"])
        if self._mode is Mode.RESTORE:
            if current is not None:
                self.tally.count("episode", Outcome.SKIPPED)
                return
            pending_episode.append((len(ops), obj))
            ops.append(drafts.restore_episode(obj, self._cube, self._agent, None))
            self.tally.count("episode", Outcome.ADDED)
            return
        closing = obj.get("closed_at") is not None
        if current is None:
            ops.append(drafts.open_episode(obj, self._cube, self._agent))
            if closing:
                self.closes.append(drafts.close_episode(obj, self._cube, self._agent))
            self.tally.count("episode", Outcome.ADDED)
        elif closing and current["closed_at"] is None:
            self.closes.append(drafts.close_episode(obj, self._cube, self._agent))
            self.tally.count("episode", Outcome.UPDATED)
        else:
            self.tally.count("episode", Outcome.SKIPPED)

    def _link(self, obj: dict[str, Any], stored: Stored, ops: list[drafts.PlannedOp]) -> None:
        if (obj["from"], obj["type"], obj["to"]) in stored.links:
            self.tally.count("link", Outcome.SKIPPED)
            return
        ops.append(drafts.live_link(obj, self._cube, self._agent) if self._mode is Mode.LIVE
                   else drafts.restore_link(obj, self._cube, self._agent))
        self.tally.count("link", Outcome.ADDED)


# --- new ids -------------------------------------------------------------------------------------


def remap(obj: dict[str, Any], salt: str) -> dict[str, Any]:
    """The object with every id it holds or names given `salt` (`<id>.<salt>`), consistently, so a
    bundle can be imported beside itself. A summary's id `summary-<episode>` stays its episode's."""
    def rid(value: str | None) -> str | None:
        if value is None:
            return None
        out = f"{value}.{salt}"
        return out if len(out) <= 128 else f"{value[: 127 - len(salt)]}.{salt}"

    out = dict(obj)
    kind = obj["object"]
    for key in ("id", "memory_id", "episode_id", "duplicate_of", "episode", "from", "to"):
        if key == "id" and kind not in ("memory", "episode"):
            continue
        if out.get(key) is not None:
            out[key] = rid(out[key])
    if "source_ids" in out:
        out["source_ids"] = [rid(s) for s in out["source_ids"]]
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        metadata = dict(metadata)
        if obj.get("tier") == Tier.WORLD and isinstance(metadata.get("source_ids"), list):
            metadata["source_ids"] = [rid(s) for s in metadata["source_ids"]]
        if kind == "skill_version" or obj.get("tier") == Tier.SKILL:
            if metadata.get("id"):
                metadata["id"] = rid(metadata["id"])
            for key in ("examples", "failures"):
                metadata[key] = [rid(e) for e in metadata.get(key) or []]
            metadata["bindings"] = [{**b, "episode_id": rid(b.get("episode_id"))} for b in metadata.get("bindings") or []]
        if kind == "memory" and obj.get("kind") == "summary" and metadata.get("episode_id"):
            metadata["episode_id"] = rid(metadata["episode_id"])
        out["metadata"] = metadata
    return out
