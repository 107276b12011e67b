"""Dedupe stage: decides for each added row whether it is new, an exact or a near duplicate.

Nothing is dropped. An exact duplicate (same content hash as an active memory of the same cube)
is stored with status `duplicate` and a `duplicate_of` link; a near duplicate (cosine at or above
the threshold) is stored as an active memory with a `near_duplicate_of` link, so search can
collapse it. The function reads what is already known through `KnownState` and returns, beside
the annotated batch, the changes the caller must apply to that state so the next batch sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa

from pipeline.records import DEDUPE_FIELDS, Dedupe, Op, Status
from pipeline.write_plan import vectors_of


class KnownCube(Protocol):
    def id_exists(self, memory_id: str) -> bool: ...

    def id_for_hash(self, content_hash: str) -> str | None: ...

    def nearest(self, vectors: np.ndarray) -> list[tuple[str, float] | None]: ...


class KnownState(Protocol):
    def cube(self, cube_id: str) -> KnownCube: ...


@dataclass(frozen=True)
class StateChange:
    """One change to the dedupe state: `remember` a stored id (active or not), or `forget` it."""

    action: str  # "remember" | "forget"
    cube: str
    memory_id: str
    content_hash: str | None = None
    vector: np.ndarray | None = None
    active: bool = False


@dataclass
class _BatchLocal:
    """What earlier rows of the same batch added to one cube."""

    ids: set[str] = field(default_factory=set)
    hashes: dict[str, str] = field(default_factory=dict)
    vec_ids: list[str] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)  # stored ids that earlier rows removed

    def nearest(self, vector: np.ndarray) -> tuple[str, float] | None:
        if not self.vectors:
            return None
        scores = np.stack(self.vectors) @ vector
        best = int(np.argmax(scores))
        return self.vec_ids[best], float(scores[best])

    def forget(self, memory_id: str) -> None:
        self.ids.discard(memory_id)
        self.deleted.add(memory_id)
        self.hashes = {h: i for h, i in self.hashes.items() if i != memory_id}
        keep = [k for k, i in enumerate(self.vec_ids) if i != memory_id]
        self.vec_ids = [self.vec_ids[k] for k in keep]
        self.vectors = [self.vectors[k] for k in keep]

    def alive(self, memory_id: str | None) -> str | None:
        return None if memory_id is None or memory_id in self.deleted else memory_id


def _known_nearest(
    rows: list[dict], vectors: list[np.ndarray | None], known: KnownState
) -> dict[int, tuple[str, float] | None]:
    """Nearest stored neighbour of every added row, one matrix product per cube."""
    by_cube: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if row["op"] == Op.ADD and row["error"] is None and vectors[i] is not None:
            by_cube.setdefault(row["cube"], []).append(i)
    found: dict[int, tuple[str, float] | None] = {}
    for cube, idx in by_cube.items():
        hits = known.cube(cube).nearest(np.stack([vectors[i] for i in idx]))
        found.update(zip(idx, hits))
    return found


def dedupe_batch(
    batch: pa.RecordBatch, known: KnownState, threshold: float | None
) -> tuple[pa.RecordBatch, list[StateChange]]:
    """`threshold=None` checks exact duplicates only (bulk imports: near checks cost a matrix product)."""
    rows = batch.select(["op", "id", "cube", "content_hash", "error"]).to_pylist()
    vectors = vectors_of(batch)
    if threshold is None:
        vectors = [None] * len(rows)
    stored_nearest = _known_nearest(rows, vectors, known)
    local: dict[str, _BatchLocal] = {}
    changes: list[StateChange] = []
    columns: dict[str, list] = {name: [] for name, _ in DEDUPE_FIELDS}

    def decide(decision: Dedupe, status=None, dup_of=None, near_of=None, near_score=None) -> None:
        columns["dedupe"].append(decision.value)
        columns["status"].append(status)
        columns["duplicate_of"].append(dup_of)
        columns["near_duplicate_of"].append(near_of)
        columns["near_duplicate_score"].append(near_score)

    for i, row in enumerate(rows):
        cube, memory_id, vector = row["cube"], row["id"], vectors[i]
        if row["error"] is not None:
            decide(Dedupe.SKIPPED)
            continue
        mine = local.setdefault(cube, _BatchLocal())
        if row["op"] == Op.DELETE:
            mine.forget(memory_id)
            changes.append(StateChange("forget", cube, memory_id))
            decide(Dedupe.SKIPPED)
            continue
        if row["op"] == Op.UPDATE:
            changes.append(StateChange("remember", cube, memory_id, row["content_hash"], vector, True))
            decide(Dedupe.SKIPPED)
            continue
        if row["op"] != Op.ADD:
            decide(Dedupe.SKIPPED)  # facts, episodes, feedback, links: not memories to dedupe
            continue
        stored = known.cube(cube)
        if memory_id in mine.ids or (memory_id not in mine.deleted and stored.id_exists(memory_id)):
            decide(Dedupe.EXISTS)
            continue
        mine.ids.add(memory_id)
        original = mine.hashes.get(row["content_hash"]) or mine.alive(stored.id_for_hash(row["content_hash"]))
        if original is not None:
            changes.append(StateChange("remember", cube, memory_id, row["content_hash"], vector, False))
            decide(Dedupe.DUPLICATE, Status.DUPLICATE.value, dup_of=original)
            continue
        from_store = stored_nearest.get(i)
        if from_store is not None and mine.alive(from_store[0]) is None:
            from_store = None
        candidates = [c for c in (from_store, mine.nearest(vector) if vector is not None else None) if c]
        best = max(candidates, key=lambda c: c[1], default=None)
        mine.hashes[row["content_hash"]] = memory_id
        if vector is not None:
            mine.vec_ids.append(memory_id)
            mine.vectors.append(vector)
        changes.append(StateChange("remember", cube, memory_id, row["content_hash"], vector, True))
        if best is not None and threshold is not None and best[1] >= threshold:
            decide(Dedupe.NEAR_DUPLICATE, Status.ACTIVE.value, near_of=best[0], near_score=best[1])
        else:
            decide(Dedupe.NEW, Status.ACTIVE.value)

    out = batch
    for name, type_ in DEDUPE_FIELDS:
        out = out.append_column(pa.field(name, type_), pa.array(columns[name], type_))
    return out, changes
