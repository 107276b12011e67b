"""Knowledge-base cubes replicated read-only from a hub to its members, pull-based with a cursor.

Hub side, `feed_page`: one page of a shared cube (a snapshot walk, then the change feed; see
pipeline/team/cursor.py), each memory whole (state, vector, versions, links), plus the ids that
are gone. Member side, `ReplicaWriter.apply`: a page written into the local replica through the
stage chain's IMPORT route, the same stages an import takes: memories the replica holds already
are deleted first (a batch of their own) and restored in the hub's state, gone ones deleted. A page
is idempotent, so a page applied twice after a cut connection changes nothing, and the cursor is
kept only once the page has landed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import ray

from actors.stage_chain import IMPORT, Stage, StageChain
from pipeline.errors import Invalid, WriteFailed
from pipeline.ids import new_ulid
from pipeline.interchange import export_objects as export
from pipeline.interchange.import_drafts import PlannedOp, restore_link, restore_memory, restore_version
from pipeline.parse import encode_draft
from pipeline.records import INTAKE_SCHEMA, Op
from pipeline.team.cursor import LOWEST_KEY, Position, parse_cursor
from pipeline.timefmt import now_ms
from storage.cube_feed import FeedPage, FeedReader
from storage.paths import DataPaths
from storage.registry import Cube


def vector_text(blob: bytes) -> str:
    return base64.b64encode(blob).decode()


def feed_page(paths: DataPaths, cube: Cube, cursor: str, limit: int) -> dict[str, Any]:
    """The page after `cursor` of a shared cube, as the hub answers it."""
    position = parse_cursor(cursor)
    path = paths.cube_db(cube.id)
    if not path.exists():
        return {"cube": cube.id, "name": cube.name, "cursor": cursor, "more": False, "hub_last": 0, "objects": [],
                "vectors": {}, "model": None, "deletes": [], "range": None}
    with FeedReader(path) as reader:
        last, oldest = reader.last_and_oldest()
        if position is None or (not position.snapshot and oldest is not None and position.seq < oldest - 1):
            position = Position(True, last)  # a fresh replica, or one further behind than the feed keeps
        if position.snapshot:
            page = reader.snapshot_page(position.key, limit)
            high = (page.rows[-1].record.created_at, page.rows[-1].record.id) if page.more else None
            following = Position(True, position.seq, high).text() if high is not None else Position(False, position.seq).text()
            span = {"low": list(position.key), "high": list(high) if high is not None else None}
        else:
            page = reader.feed_page(position.seq, limit)
            following = Position(False, page.end_seq).text()
            span = None
        # After a snapshot page there is always more to ask: the next page, or the feed since the walk began.
        more = True if span is not None else page.more
        return {"cube": cube.id, "name": cube.name, "cursor": following, "more": more, "hub_last": last,
                **_objects(page), "range": span}


def _objects(page: FeedPage) -> dict[str, Any]:
    objects: list[dict[str, Any]] = []
    vectors: dict[str, str] = {}
    for row in page.rows:
        rec = row.record
        objects.append(export.memory_object(rec, page.superseded_by.get(rec.id)))
        if row.vector is not None and row.model is not None:
            vectors[rec.id] = vector_text(row.vector)
        objects += [export.version_object(rec.id, rec.tier, old) for old in page.versions.get(rec.id, ())]
        objects += [export.link_object(link) for link in page.links.get(rec.id, ())]
    model = next((row.model for row in page.rows if row.model is not None), None)
    return {"objects": objects, "vectors": vectors, "model": model, "deletes": page.gone}


@dataclass
class Applied:
    upserts: int
    deletes: int


class ReplicaWriter:
    """Writes hub pages into one local replica cube through the stage chain (IMPORT route)."""

    def __init__(self, paths: DataPaths, chain: StageChain, cube: Cube, model: str, dim: int,
                 on_shard_written: Callable[[str], None]) -> None:
        self._paths, self._chain, self._cube = paths, chain, cube
        self._model, self._dim = model, dim
        self._written = on_shard_written
        now = now_ms()
        # Negative seqs, unique per writer, below an import's: never an intake entry's.
        self._next_seq = -((now % 1_000_000_000) * 1_000_000_000) - 500_000_001
        self._job = f"replica-{new_ulid(now)}"

    def apply(self, page: dict[str, Any]) -> Applied:
        objects, vectors = page.get("objects") or [], page.get("vectors") or {}
        if not isinstance(objects, list) or not isinstance(vectors, dict):
            raise Invalid("a replication page holds a list of objects and a map of vectors")
        memories = [o for o in objects if isinstance(o, dict) and o.get("object") == "memory"]
        ids = [m["id"] for m in memories]
        gone = [i for i in (page.get("deletes") or []) if isinstance(i, str)]
        held = self._held(ids + gone, page.get("range"))
        dropped = sorted((held - set(ids)) | (set(gone) & held))
        replaced = sorted(held & set(ids))
        owner = self._cube.owner
        ops: list[PlannedOp] = []
        for obj in objects:
            kind = obj.get("object")
            if kind == "memory":
                ops.append(restore_memory(obj, self._cube.id, owner))
            elif kind == "version":
                ops.append(restore_version(obj, self._cube.id, owner))
            elif kind == "skill_version":
                ops.append(restore_version(obj, self._cube.id, owner))
            elif kind == "link":
                ops.append(restore_link(obj, self._cube.id, owner))
        deletes = [PlannedOp(Op.DELETE.value, i, {"id": i, "cube": self._cube.id, "agent": owner})
                   for i in dropped + replaced]
        refs = []
        if deletes:  # a batch of its own, ahead of the restores: the indexes drop the old row first
            refs.append(self.submit(deletes, {}))
        if ops:
            # The hub's vectors are kept when its model is this server's; otherwise the embed stage embeds again.
            given = {k: _vector(v, self._dim) for k, v in vectors.items() if k in set(ids)} \
                if page.get("model") == self._model else {}
            refs.append(self.submit(ops, given))
        for ref in refs:
            landed = ray.get(ref)
            if landed["failed"]:  # never advance the cursor past a page that did not land whole
                _, code, message = landed["failed"][0]
                raise WriteFailed(f"{len(landed['failed'])} replicated rows of cube {self._cube.id} failed: "
                                  f"{code}: {message}")
        if refs:
            self._written(self._cube.shard)
        return Applied(len(memories), len(dropped))

    def _held(self, ids: list[str], span: Any) -> set[str]:
        path = self._paths.cube_db(self._cube.id)
        if not path.exists():
            return set()
        reader = FeedReader(path)
        try:
            held = reader.existing(ids)
            if isinstance(span, dict) and isinstance(span.get("low"), list):
                low = _key(span["low"])
                high = _key(span["high"]) if isinstance(span.get("high"), list) else None
                held |= set(reader.keys_between(low, high))
            return held
        finally:
            reader.close()

    def submit(self, ops: list[PlannedOp], vectors: dict[str, np.ndarray]) -> ray.ObjectRef:
        entries = []
        for op in ops:
            entries.append({"seq": self._next_seq, "job_id": self._job, "op": op.op, "cube": self._cube.id,
                            "memory_id": op.target, "payload": encode_draft(op.fields)})
            self._next_seq -= 1
        batch = pa.RecordBatch.from_pylist(entries, schema=INTAKE_SCHEMA)
        return self._chain.submit(batch, self._cube.shard, IMPORT, vectors=vectors, near_duplicates=False)

    def settle(self) -> None:
        """As after an import: Lance compacted, the shard's dedupe and crystallize stages reload the cube."""
        shard = self._cube.shard
        ray.get([self._chain.actor(Stage.WRITE, shard).settle.remote(),
                 self._chain.actor(Stage.DEDUPE, shard).forget_cube.remote(self._cube.id),
                 self._chain.actor(Stage.CRYSTALLIZE, shard).forget_cube.remote(self._cube.id)])
        self._written(shard)


def _key(value: list[Any]) -> tuple[int, str]:
    if len(value) != 2:
        return LOWEST_KEY
    return int(value[0]), str(value[1])


def _vector(text: Any, dim: int) -> np.ndarray:
    raw = base64.b64decode(str(text))
    vector = np.frombuffer(raw, dtype=np.float32)
    if vector.shape != (dim,):
        raise Invalid(f"a replicated vector has {vector.shape[0]} dimensions; this server's model has {dim}")
    return vector.copy()
