"""Which of the caller's cubes holds a thing named only by id, and the cube a change applies to.

Every route that takes an id and an optional `cube` looks the same way: the named cube (which the
caller must be able to read), or else the caller's lookup order (own cube, mounts, other
memberships; service/access.py). A cube the caller cannot read is never looked in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pipeline.access import Caller, Role
from pipeline.errors import NotFound
from pipeline.records import MemoryRecord
from service.access import Access
from storage.cube.reader import CubeReader
from storage.intake_log import IntakeLog
from storage.read_side import ReadSide
from storage.registry import Cube

T = TypeVar("T")
# Looks in one cube's store (None: the cube has no file yet) and answers what it found, or None.
Probe = Callable[[Cube, CubeReader | None], T | None]


class CubeLocator:
    def __init__(self, access: Access, read: ReadSide, intake: IntakeLog) -> None:
        self._access, self._read, self._intake = access, read, intake

    def readable(self, caller: Caller, cube_id: str | None) -> list[Cube]:
        """The named cube if the caller can read it, else the caller's cubes in lookup order."""
        return [self._access.require(caller, cube_id, Role.READ)] if cube_id else self._access.lookup_order(caller)

    def first(self, caller: Caller, cube_id: str | None, probe: Probe[T]) -> tuple[Cube, T] | None:
        """The first readable cube where `probe` finds something, with what it found."""
        for cube in self.readable(caller, cube_id):
            with self._read.cube(cube.id) as store:
                found = probe(cube, store)
            if found is not None:
                return cube, found
        return None

    def holder(self, caller: Caller, memory_id: str, cube_id: str | None) -> Cube:
        """The readable cube that holds this memory, stored or still waiting in the intake log."""
        found = self.first(caller, cube_id, lambda cube, store: cube if self._holds(cube, store, memory_id) else None)
        if found is None:
            raise NotFound(f"memory {memory_id} does not exist")
        return found[0]

    def target(self, caller: Caller, memory_id: str, cube_id: str | None, need: Role) -> Cube:
        """The cube a change to this memory applies to, if the caller holds `need` on it."""
        cube = self.holder(caller, memory_id, cube_id)
        # The caller can read this memory, so a 403 reveals nothing it could not see.
        self._access.require(caller, cube.id, need)
        return cube

    def stored(self, cube_id: str, memory_id: str) -> MemoryRecord:
        """The memory as stored in this cube; NotFound while it is only queued."""
        with self._read.cube(cube_id) as store:
            rec = store.get(memory_id) if store is not None else None
        if rec is None:
            raise NotFound(f"memory {memory_id} does not exist")
        return rec

    def _holds(self, cube: Cube, store: CubeReader | None, memory_id: str) -> bool:
        if store is not None and store.exists(memory_id):
            return True
        return bool(self._intake.pending_ops(cube.id, memory_id))
