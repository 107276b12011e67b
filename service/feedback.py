"""Feedback on memories, typed links between them, and reading the graph and a memory's history."""

from __future__ import annotations

import re
from typing import Any

from pipeline.access import Caller, Role
from pipeline.errors import Invalid, NotFound
from pipeline.records import Op, Tier
from pipeline.timefmt import now_ms, to_iso
from service.access import Access
from service.memories import Accepted, MemoryService
from service.read_side import ReadSide
from service.views import memory_view

SIGNALS = ("useful", "not_useful", "wrong", "outdated")
LINK_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Signals that change what is believed need write; ranking signals only need read.
NEEDS_WRITE = frozenset({"wrong", "outdated"})


class FeedbackService:
    def __init__(self, access: Access, memories: MemoryService, read: ReadSide) -> None:
        self._access, self._memories, self._read = access, memories, read

    async def feedback(
        self, caller: Caller, memory_id: str, signal: str, correction: str | None, note: str | None,
        cube_id: str | None,
    ) -> dict[str, Any]:
        cube = self._memories.find(caller, memory_id, cube_id)
        self._access.require(caller, cube.id, Role.WRITE if signal in NEEDS_WRITE else Role.READ)
        rec = self._memories.stored(cube.id, memory_id)
        if correction is not None and signal != "wrong":
            raise Invalid("a correction goes with the signal 'wrong'")
        draft = {"id": memory_id, "cube": cube.id, "agent": caller.agent, "signal": signal, "note": note,
                 "correction": correction, "at": now_ms(), "target_kind": rec["kind"],
                 "target_fact": rec["metadata"] if rec["tier"] == Tier.WORLD else None}
        accepted: Accepted = await self._memories.run_op(caller, cube.id, memory_id, Op.FEEDBACK, draft)
        after = self._memories.stored(cube.id, memory_id)
        with self._read.cube(cube.id) as store:
            replaced_by = [l["src"] for l in store.links_of(memory_id) if l["type"] == "supersedes" and l["dst"] == memory_id]
        return {"memory_id": memory_id, "cube": cube.id, "signal": signal, "status": accepted.status,
                "job_id": accepted.job_id, "memory": memory_view(after), "superseded_by": replaced_by}

    async def link(
        self, caller: Caller, src: str, dst: str, link_type: str, metadata: dict[str, Any] | None, cube_id: str | None
    ) -> dict[str, Any]:
        if not LINK_TYPE.fullmatch(link_type):
            raise Invalid("a link type is 1-40 of a-z, 0-9 and _, starting with a letter")
        cube = self._memories.find(caller, src, cube_id)
        self._access.require(caller, cube.id, Role.WRITE)
        with self._read.cube(cube.id) as store:
            if not store.exists(dst) and store.episode(dst) is None:
                raise Invalid(f"{dst[:80]} is neither a memory nor an episode of cube {cube.id}")
        draft = {"id": src, "cube": cube.id, "agent": caller.agent, "dst": dst, "type": link_type,
                 "metadata": metadata or {}, "at": now_ms()}
        accepted = await self._memories.run_op(caller, cube.id, src, Op.LINK, draft)
        return {"src": src, "dst": dst, "type": link_type, "cube": cube.id, "status": accepted.status}

    def graph(self, caller: Caller, memory_id: str, depth: int, types: set[str] | None, cube_id: str | None) -> dict:
        cube = self._memories.find(caller, memory_id, cube_id)
        with self._read.cube(cube.id) as store:
            found = store.graph(memory_id, depth, types)
            records = store.get_many(found["nodes"])
            nodes = []
            for node in found["nodes"]:
                rec = records.get(node)
                if rec is not None:
                    nodes.append({"id": node, "type": "memory", "tier": rec["tier"], "kind": rec["kind"],
                                  "status": rec["status"], "content": rec["content"][:200]})
                elif store.episode(node) is not None:
                    nodes.append({"id": node, "type": "episode", "task": store.episode(node)["task"]})
                else:
                    nodes.append({"id": node, "type": "external"})
        edges = [{"src": e["src"], "dst": e["dst"], "type": e["type"], "created_at": to_iso(e["created_at"])}
                 for e in found["edges"]]
        return {"root": memory_id, "cube": cube.id, "nodes": nodes, "edges": edges}

    def history(self, caller: Caller, memory_id: str, cube_id: str | None) -> dict[str, Any]:
        """Every version of the memory, oldest first, and the facts it superseded or was superseded by."""
        cube = self._memories.find(caller, memory_id, cube_id)
        with self._read.cube(cube.id) as store:
            current = store.get(memory_id)
            if current is None:
                raise NotFound(f"memory {memory_id} does not exist")
            versions = [{**v, "updated_at": to_iso(v["updated_at"])} for v in store.versions(memory_id)]
            links = store.links_of(memory_id)
            feedback = [{**f, "at": to_iso(f["at"])} for f in store.feedback_of(memory_id)]
        versions.append({"version": current["version"], "kind": current["kind"], "content": current["content"],
                         "tags": current["tags"], "metadata": current["metadata"],
                         "updated_at": to_iso(current["updated_at"]), "status": current["status"]})
        return {
            "id": memory_id, "cube": cube.id, "versions": versions,
            "supersedes": [l["dst"] for l in links if l["type"] == "supersedes" and l["src"] == memory_id],
            "superseded_by": [l["src"] for l in links if l["type"] == "supersedes" and l["dst"] == memory_id],
            "feedback": feedback,
        }
