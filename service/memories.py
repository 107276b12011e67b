"""Writing and reading memories: accept into the intake log, wait when asked, read from the cube.

Every call names a caller; the cube it touches is the caller's own unless it names another,
which the caller must hold a role on (service/access.py). A memory named only by id is found
among the caller's cubes by service/locate.py; the intake mechanics are service/intake_ops.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from configs import Settings
from pipeline.access import Caller, Role
from pipeline.errors import Conflict, Invalid, NotFound, TooLarge
from pipeline.ids import new_job_id, new_memory_id
from pipeline.parse import render_index_text
from pipeline.lifecycle import alive
from pipeline.records import Draft, Kind, Op, Tier
from pipeline.timefmt import now_ms, representable
from service.access import Access
from service.images import ImageService
from service.intake_ops import IntakeOps, OpDraft
from service.locate import CubeLocator
from service.views import memory_view, pending_view
from storage.audit_log import AuditLog
from storage.cube.reader import CubeReader, decode_cursor
from storage.intake_log import IntakeLog
from storage.read_side import ReadSide
from storage.registry import Cube

log = logging.getLogger(__name__)

# Told which cubes an agent just wrote to (the prefetcher learns from it).
WriteRecorder = Callable[[str, list[str]], None]


@dataclass(frozen=True)
class NewMemory:
    content: str
    kind: str = Kind.NOTE.value
    tier: str = Tier.TRACE.value
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    created_at: int | None = None
    source_ids: tuple[str, ...] = ()
    cube: str | None = None  # None: the caller's own cube
    episode: str | None = None
    tool: dict[str, Any] | None = None
    expires_at: int | None = None  # ms; None: it does not expire
    image: bytes | None = None  # an image memory's bytes (service/images.py checks and stores them)
    keep_gps: bool = False  # keep the image's GPS tags (removed by default)


@dataclass(frozen=True)
class MemoryChanges:
    content: str | None = None
    kind: str | None = None
    tags: tuple[str, ...] | None = None
    metadata: dict[str, Any] | None = None
    version: int | None = None  # the version the client read; a newer one stored is a conflict
    set_expiry: bool = False  # whether the change sets `expires_at` (None then takes the expiry away)
    expires_at: int | None = None


@dataclass(frozen=True)
class Accepted:
    id: str
    job_id: str | None
    status: str  # queued | exists | done
    memory: dict[str, Any] | None = None
    cube: str | None = None

    def body(self) -> dict[str, Any]:
        if self.memory is not None:
            return self.memory
        return {"id": self.id, "job_id": self.job_id, "status": self.status}


class MemoryService:
    def __init__(
        self,
        settings: Settings,
        access: Access,
        locate: CubeLocator,
        ops: IntakeOps,
        intake: IntakeLog,
        read: ReadSide,
        audit: AuditLog,
        on_write: WriteRecorder,
        images: ImageService | None = None,
    ) -> None:
        self._settings, self._access, self._locate, self._ops = settings, access, locate, ops
        self._intake, self._read, self._audit, self._on_write = intake, read, audit, on_write
        self._images = images

    # --- writes ------------------------------------------------------------------------------

    async def add(self, caller: Caller, new: NewMemory, wait: bool) -> Accepted:
        cube = self._access.require(caller, new.cube, Role.WRITE).id
        self._check(new)
        self._check_episode(cube, new.episode)
        if new.id is not None:
            earlier = self._earlier_write(cube, new.id)
            if earlier is not None:
                return await self._settled(cube, earlier, wait)
        memory_id = new.id or new_memory_id()
        image = await self._accept_image(cube, new)
        self._on_write(caller.agent, [cube])
        draft = OpDraft(Op.ADD, cube, memory_id, self._draft(caller.agent, cube, memory_id, new, image))
        job_id, seqs = await self._ops.submit(caller.agent, "add", [draft])
        return await self._settled(cube, Accepted(memory_id, job_id, "queued", cube=cube), wait, seqs)

    async def add_batch(self, caller: Caller, items: list[NewMemory], wait: bool) -> dict[str, Any]:
        """One job for many memories; with `wait`, the job and each item answer with their final status."""
        if not items:
            raise Invalid("items must hold at least one memory")
        if len(items) > self._settings.max_batch_items:
            raise TooLarge(f"a batch holds at most {self._settings.max_batch_items} items, got {len(items)}")
        cubes = {c: self._access.require(caller, c, Role.WRITE).id for c in {i.cube for i in items}}
        for item in items:
            self._check(item)
        for cube, episode in {(cubes[i.cube], i.episode) for i in items if i.episode}:
            self._check_episode(cube, episode)
        job_id = new_job_id()
        results: list[dict[str, Any]] = []
        drafts: list[OpDraft] = []
        # Where each item's final status comes from: the index of the draft that writes it (a
        # repeated id shares its first draft), the pending seqs of an earlier job that writes it,
        # or None for a memory already stored.
        sources: list[int | list[int] | None] = []
        first_draft: dict[tuple[str, str], int] = {}
        for new in items:
            cube = cubes[new.cube]
            if new.id is not None and (cube, new.id) in first_draft:
                results.append({"id": new.id, "status": "queued"})
                sources.append(first_draft[(cube, new.id)])
                continue
            earlier = self._earlier_write(cube, new.id) if new.id is not None else None
            if earlier is not None:
                results.append({"id": earlier.id, "status": earlier.status})
                sources.append(self._ops.pending(cube, earlier.id) if earlier.status == "queued" else None)
                continue
            memory_id = new.id or new_memory_id()
            first_draft[(cube, memory_id)] = len(drafts)
            sources.append(len(drafts))
            image = await self._accept_image(cube, new)
            drafts.append(OpDraft(Op.ADD, cube, memory_id, self._draft(caller.agent, cube, memory_id, new, image)))
            results.append({"id": memory_id, "status": "queued"})
        self._on_write(caller.agent, sorted(set(cubes.values())))
        seqs = (await self._ops.submit(caller.agent, "batch", drafts, job_id))[1] if drafts else []
        if not wait:
            return {"job_id": job_id, "status": "queued" if seqs else "done", "accepted": len(drafts), "items": results}
        earlier_seqs = [seq for source in sources if isinstance(source, list) for seq in source]
        states = await self._ops.wait([*seqs, *earlier_seqs])
        for result, source in zip(results, sources):
            if source is not None:
                result["status"] = final_status(states, [seqs[source]] if isinstance(source, int) else source)
        statuses = {r["status"] for r in results}
        status = "failed" if "failed" in statuses else ("queued" if "queued" in statuses else "done")
        return {"job_id": job_id, "status": status, "accepted": len(drafts), "items": results}

    async def update(self, caller: Caller, memory_id: str, changes: MemoryChanges, cube_id: str | None = None) -> Accepted:
        """Applies the change and answers with the new memory; a still-queued change answers 202."""
        cube = await self._writable_home(caller, memory_id, cube_id)
        current = self._locate.stored(cube.id, memory_id)
        if changes.version is not None and changes.version != current.version:
            raise Conflict(f"memory {memory_id} is at version {current.version}, not {changes.version}")
        merged = replace(
            current,
            content=current.content if changes.content is None else changes.content,
            kind=current.kind if changes.kind is None else changes.kind,
            tags=current.tags if changes.tags is None else list(changes.tags),
            metadata=current.metadata if changes.metadata is None else changes.metadata,
            expires_at=changes.expires_at if changes.set_expiry else current.expires_at,
        )
        self._check(NewMemory(content=merged.content, kind=merged.kind))
        if merged == current:
            return Accepted(memory_id, None, "done", self._with_images(cube.id, [memory_view(current)])[0], cube.id)
        old_text = render_index_text(current.kind, current.content, current.metadata)
        new_text = render_index_text(merged.kind, merged.content, merged.metadata)
        draft = Draft(
            id=current.id, cube=current.cube, agent=current.agent, tier=current.tier, kind=merged.kind,
            content=merged.content, created_at=current.created_at, updated_at=now_ms(), tags=merged.tags,
            metadata=merged.metadata, source_ids=current.source_ids, base_version=current.version,
            reembed=new_text != old_text, expires_at=merged.expires_at,
        ).as_dict()
        image = self._images.facts(cube.id, memory_id) if self._images is not None and merged.kind == Kind.IMAGE else None
        if image is not None:
            draft["image"] = image  # its OCR text stays in the new index text
        applied = await self._ops.run(caller.agent, OpDraft(Op.UPDATE, cube.id, memory_id, draft))
        if applied.status != "done":
            return Accepted(memory_id, applied.job_id, applied.status, cube=cube.id)
        stored = self._with_images(cube.id, [memory_view(self._locate.stored(cube.id, memory_id))])[0]
        return Accepted(memory_id, applied.job_id, "done", stored, cube.id)

    async def delete(self, caller: Caller, memory_id: str, cube_id: str | None = None) -> Accepted:
        cube = await self._writable_home(caller, memory_id, cube_id)
        self._locate.stored(cube.id, memory_id)
        draft = {"id": memory_id, "cube": cube.id, "agent": caller.agent}
        applied = await self._ops.run(caller.agent, OpDraft(Op.DELETE, cube.id, memory_id, draft))
        # By id only: the purge (service/purge.py) records when the content left the files.
        self._audit.record(caller.agent, "memory.delete", cube=cube.id, memory_id=memory_id)
        return Accepted(memory_id, applied.job_id, applied.status, cube=cube.id)

    async def share(self, caller: Caller, memory_id: str, to_cube: str, from_cube: str | None) -> Accepted:
        """Copy a memory the caller can read into a cube it can write, with provenance back."""
        source = self._locate.holder(caller, memory_id, from_cube)
        target = self._access.require(caller, to_cube, Role.WRITE)
        rec = self._locate.stored(source.id, memory_id)
        copy = NewMemory(
            content=rec.content,
            kind=rec.kind,
            tier=rec.tier,
            tags=tuple(rec.tags),
            metadata={**rec.metadata, "shared_from": {"cube": source.id, "id": memory_id}},
            created_at=rec.created_at,
            source_ids=(memory_id,),
            cube=target.id,
            # an image goes with its bytes, as stored (GPS already as the uploader chose)
            image=self._images.stored_bytes(source.id, memory_id)
            if self._images is not None and rec.kind == Kind.IMAGE else None,
            keep_gps=True,
        )
        accepted = await self.add(caller, copy, wait=True)
        # Recorded on the source cube: its admins see who copied what out, and to where.
        self._audit.record(caller.agent, "memory.share", cube=source.id, memory_id=memory_id,
                           details={"to_cube": target.id, "new_id": accepted.id})
        return accepted

    # --- reads -------------------------------------------------------------------------------

    def get(self, caller: Caller, memory_id: str, cube_id: str | None = None) -> dict[str, Any]:
        """The stored memory, or an accepted one still in the pipeline (status `pending`)."""
        found = self._locate.first(caller, cube_id, lambda cube, store: self._current_view(cube, store, memory_id))
        if found is None:
            raise NotFound(f"memory {memory_id} does not exist")
        return self._with_images(found[0].id, [found[1]])[0]

    def timeline(self, caller: Caller, memory_id: str, before: int, after: int, cube_id: str | None) -> dict[str, Any]:
        """The memory among its neighbouring turns: same cube, tier and episode, ordered by time then arrival."""
        cube = self._locate.holder(caller, memory_id, cube_id)
        with self._read.cube(cube.id) as store:
            found = store.timeline(memory_id, before, after) if store is not None else None
        if found is None:
            raise NotFound(f"memory {memory_id} is not stored yet")
        records, position = found
        now = now_ms()
        if any(r.id == memory_id and not alive(r, now) for r in records):
            raise NotFound(f"memory {memory_id} does not exist")  # expired: gone from reads at once
        shown = [r for r in records if alive(r, now)]
        position -= sum(1 for r in records[:position] if not alive(r, now))
        return {"memory": memory_id, "position": position, "items": [memory_view(r) for r in shown]}

    def list(
        self, caller: Caller, *, cube_id: str | None = None, limit: int, cursor: str | None, tag: str | None,
        kind: str | None, status: str | None, tier: str | None = None,
    ) -> dict[str, Any]:
        cube = self._access.require(caller, cube_id, Role.READ)
        if cursor is not None:
            decode_cursor(cursor)  # a bad cursor is an error even where there is nothing to list
        with self._read.cube(cube.id) as store:
            if store is None:
                return {"items": [], "next_cursor": None}
            page = store.list(limit=limit, cursor=cursor, tag=tag, kind=kind, status=status, tier=tier,
                              alive_at=now_ms())
        return {"items": self._with_images(cube.id, [memory_view(r) for r in page.items]),
                "next_cursor": page.next_cursor}

    # --- helpers -----------------------------------------------------------------------------

    def _with_images(self, cube_id: str, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._images.attach(cube_id, views) if self._images is not None else views

    async def _writable_home(self, caller: Caller, memory_id: str, cube_id: str | None) -> Cube:
        """Where a change to this memory applies, once earlier writes to it have landed."""
        cube = self._locate.target(caller, memory_id, cube_id, Role.WRITE)
        await self._ops.settle(cube.id, memory_id)
        return cube

    def _current_view(self, cube: Cube, store: CubeReader | None, memory_id: str) -> dict[str, Any] | None:
        rec = store.get(memory_id) if store is not None else None
        if rec is not None:
            return memory_view(rec) if alive(rec, now_ms()) else None
        pending = self._intake.latest_add(cube.id, memory_id)
        if pending is not None and pending.state == "pending":
            try:
                return pending_view(pending.payload)
            except (ValueError, TypeError, KeyError) as exc:  # a draft accepted before today's bounds held
                log.error("cube %s: pending memory %s cannot be shown (%s)", cube.id, memory_id, exc)
        return None

    def _check(self, new: NewMemory) -> None:
        if new.created_at is not None and not representable(new.created_at):  # from any way in, not only HTTP
            raise Invalid(f"created_at {new.created_at} is not a time within years 1-9999")
        if len(new.content) > self._settings.max_content_chars:
            raise TooLarge(f"content has {len(new.content)} characters; the limit is {self._settings.max_content_chars}")
        if not new.content.strip():
            raise Invalid("content must not be empty")

    async def _accept_image(self, cube: str, new: NewMemory) -> dict[str, Any] | None:
        """An image write's bytes checked and durable (before its draft is logged); its facts."""
        if new.image is None:
            return None
        if new.kind != Kind.IMAGE.value:
            raise Invalid(f"a memory with an image has kind 'image', not {new.kind!r}")
        if self._images is None:
            raise Invalid("this server does not take images")
        return await asyncio.to_thread(self._images.accept, cube, new.image, new.keep_gps)

    def _draft(self, agent: str, cube: str, memory_id: str, new: NewMemory,
               image: dict[str, Any] | None = None) -> dict[str, Any]:
        now = now_ms()
        draft = Draft(
            id=memory_id, cube=cube, agent=agent, tier=new.tier, kind=new.kind, content=new.content,
            created_at=new.created_at if new.created_at is not None else now, updated_at=now,
            tags=list(dict.fromkeys(new.tags)), metadata=new.metadata, source_ids=list(new.source_ids),
            episode=new.episode, tool=new.tool, expires_at=new.expires_at,
        ).as_dict()
        if image is not None:
            draft["image"] = image  # facts only; the bytes are a blob of the cube already
        return draft

    def _check_episode(self, cube: str, episode: str | None) -> None:
        """A trace may only name an episode of its cube that exists (stored, or accepted and queued)."""
        if episode is None:
            return
        with self._read.cube(cube) as store:
            if store is not None and store.episode(episode) is not None:
                return
        if not any(op == Op.EPISODE for _, op in self._intake.pending_ops(cube, episode)):
            # 404, not 422: naming something that does not exist is the one thing a well-formed body can
            # get wrong that no schema can state (issue 13), and it is what GET /v1/episodes/{id} answers.
            raise NotFound(f"episode {episode} does not exist in cube {cube}; open it with POST /v1/episodes")

    def _earlier_write(self, cube: str, memory_id: str) -> Accepted | None:
        """A write repeating an id is a no-op: it answers with the first write's state."""
        with self._read.cube(cube) as store:
            if store is not None and store.exists(memory_id):
                return Accepted(memory_id, None, "exists", cube=cube)
        pending = self._intake.latest_add(cube, memory_id)
        if pending is not None and pending.state == "pending":
            return Accepted(memory_id, pending.job_id, "queued", cube=cube)
        return None

    async def _settled(self, cube: str, accepted: Accepted, wait: bool, seqs: list[int] | None = None) -> Accepted:
        if not wait:
            return accepted
        states = await self._ops.wait(self._ops.pending(cube, accepted.id) if seqs is None else seqs)
        for seq, state in states.items():
            if state == "failed":
                self._ops.raise_failure(seq)
        if any(state == "pending" for state in states.values()):
            return accepted  # still going at the timeout: the 202 answer stands
        memory = self._with_images(cube, [memory_view(self._locate.stored(cube, accepted.id))])[0]
        return replace(accepted, status="done", memory=memory)


def final_status(states: dict[int, str], seqs: list[int]) -> str:
    """An item's status once waited on: failed if any of its writes failed, done once all landed."""
    found = [states.get(seq, "pending") for seq in seqs]
    if "failed" in found:
        return "failed"
    return "queued" if "pending" in found else "done"
