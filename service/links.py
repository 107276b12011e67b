"""Typed links between two memories (or a memory and an episode) of one cube."""

from __future__ import annotations

import re
from typing import Any

from pipeline.access import Caller, Role
from pipeline.errors import Invalid, NotFound
from pipeline.records import Op
from pipeline.timefmt import now_ms
from service.intake_ops import IntakeOps, OpDraft
from service.locate import CubeLocator
from storage.read_side import ReadSide

LINK_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class LinkService:
    def __init__(self, locate: CubeLocator, ops: IntakeOps, read: ReadSide) -> None:
        self._locate, self._ops, self._read = locate, ops, read

    async def link(
        self, caller: Caller, src: str, dst: str, link_type: str, metadata: dict[str, Any] | None, cube_id: str | None
    ) -> dict[str, Any]:
        """Links `src` (a memory the caller can write) to `dst` in the same cube."""
        if not LINK_TYPE.fullmatch(link_type):
            raise Invalid("a link type is 1-40 of a-z, 0-9 and _, starting with a letter")
        cube = self._locate.target(caller, src, cube_id, Role.WRITE)
        with self._read.cube(cube.id) as store:
            if not store.exists(dst) and store.episode(dst) is None:  # 404 as for a missing src (issue 13)
                raise NotFound(f"{dst[:80]} is neither a memory nor an episode of cube {cube.id}")
        draft = {"id": src, "cube": cube.id, "agent": caller.agent, "dst": dst, "type": link_type,
                 "metadata": metadata or {}, "at": now_ms()}
        applied = await self._ops.run(caller.agent, OpDraft(Op.LINK, cube.id, src, draft))
        return {"src": src, "dst": dst, "type": link_type, "cube": cube.id, "status": applied.status}
