"""Episodes: open one for a task, write traces naming it, close it with an outcome.

Closing hands the episode to the crystallize stage, which stores its summary memory and any skill
it completes; the close answers once those are stored.
"""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller, Role
from pipeline.errors import Conflict, Invalid, NotFound
from pipeline.ids import is_memory_id, new_ulid
from pipeline.records import Op
from pipeline.timefmt import now_ms, to_iso
from service.access import Access
from service.intake_ops import IntakeOps, OpDraft
from service.locate import CubeLocator
from storage.read_side import ReadSide
from storage.registry import Cube

OUTCOMES = ("success", "failure", "unknown")


def episode_view(ep: dict[str, Any], cube: str, traces: list[str]) -> dict[str, Any]:
    closed = ep["closed_at"] is not None
    return {
        "id": ep["id"], "cube": cube, "task": ep["task"], "agent": ep["agent"],
        "status": "closed" if closed else "open", "outcome": ep["outcome"],
        "opened_at": to_iso(ep["opened_at"]), "closed_at": to_iso(ep["closed_at"]) if closed else None,
        "traces": traces, "summary_id": f"summary-{ep['id']}" if closed else None,
    }


class EpisodeService:
    def __init__(self, access: Access, locate: CubeLocator, ops: IntakeOps, read: ReadSide) -> None:
        self._access, self._locate, self._ops, self._read = access, locate, ops, read

    async def open(self, caller: Caller, task: str, episode_id: str | None, cube_id: str | None) -> dict[str, Any]:
        cube = self._access.require(caller, cube_id, Role.WRITE)
        episode_id = episode_id or f"ep-{new_ulid()}"
        if not is_memory_id(episode_id):
            raise Invalid(f"episode id {episode_id[:80]!r} must match [A-Za-z0-9][A-Za-z0-9_.:-]{{0,127}}")
        existing = self._stored(cube, episode_id)
        if existing is not None:
            if existing["task"] != task:
                raise Conflict(f"episode {episode_id} exists with another task")
            return self.view(cube, existing)
        draft = {"id": episode_id, "cube": cube.id, "agent": caller.agent, "action": "open", "task": task,
                 "at": now_ms()}
        await self._ops.run(caller.agent, OpDraft(Op.EPISODE, cube.id, episode_id, draft))
        return self.get(caller, episode_id, cube.id)

    async def close(self, caller: Caller, episode_id: str, outcome: str, cube_id: str | None) -> dict[str, Any]:
        cube, ep = self._find(caller, episode_id, cube_id)
        self._access.require(caller, cube.id, Role.WRITE)
        if ep["closed_at"] is not None:
            raise Conflict(f"episode {episode_id} is already closed ({ep['outcome']})")
        # The task rides along so the embed stage can give the closing row its task vector.
        draft = {"id": episode_id, "cube": cube.id, "agent": caller.agent, "action": "close", "outcome": outcome,
                 "task": ep["task"], "at": now_ms()}
        applied = await self._ops.run(caller.agent, OpDraft(Op.EPISODE, cube.id, episode_id, draft))
        view = self.get(caller, episode_id, cube.id)
        return {**view, "job_id": applied.job_id} if applied.status != "done" else view

    def get(self, caller: Caller, episode_id: str, cube_id: str | None) -> dict[str, Any]:
        cube, ep = self._find(caller, episode_id, cube_id)
        return self.view(cube, ep)

    def view(self, cube: Cube, ep: dict[str, Any]) -> dict[str, Any]:
        with self._read.cube(cube.id) as store:
            traces = [t.id for t in store.episode_traces(ep["id"])] if store is not None else []
        return episode_view(ep, cube.id, traces)

    def _stored(self, cube: Cube, episode_id: str) -> dict[str, Any] | None:
        with self._read.cube(cube.id) as store:
            return store.episode(episode_id) if store is not None else None

    def _find(self, caller: Caller, episode_id: str, cube_id: str | None) -> tuple[Cube, dict[str, Any]]:
        found = self._locate.first(
            caller, cube_id, lambda cube, store: store.episode(episode_id) if store is not None else None
        )
        if found is None:
            raise NotFound(f"episode {episode_id[:80]} does not exist")
        return found
