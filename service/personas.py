"""Personas: list, read, put (a new version when what it states changes) and delete, per cube.

A persona version is a memory of kind `persona` written through the memory service, so access
checks, the intake log, the world model's fact extraction and the purge all apply as to any
memory (pipeline/persona.py says how it is stored). A new version is written first, then the
previous version's memory is deleted, which takes the facts read from it along (the cube writer
erases derived rows with their last source). Each agent has at most one active persona per cube:
activating one deactivates the agent's others there (no new version: what they state is unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pipeline.access import Caller, Role
from pipeline.errors import Conflict, NotFound
from pipeline.persona import (
    TAG, Persona, check_persona_id, from_metadata, id_tag, memory_id, next_version, render, statements, to_metadata,
)
from pipeline.records import Kind
from pipeline.timefmt import now_ms, to_iso
from service.access import Access
from service.memories import MemoryChanges, MemoryService, NewMemory

PAGE = 1000  # personas read per page of the cube's list


@dataclass(frozen=True)
class PersonaSpec:
    """A PUT's body: what the persona states, and whether it is the agent's active one."""

    name: str
    role: str = ""
    traits: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()
    style: str = ""
    active: bool = True


@dataclass(frozen=True)
class _Stored:
    persona: Persona
    memory_id: str
    status: str  # the memory's write status: done, or queued while it is still in the pipeline


def persona_view(cube: str, stored: _Stored) -> dict[str, Any]:
    p = stored.persona
    return {
        "id": p.id, "cube": cube, "agent": p.agent, "name": p.name, "role": p.role, "traits": list(p.traits),
        "preferences": list(p.preferences), "style": p.style, "active": p.active, "version": p.version,
        "updated_at": to_iso(p.updated_at), "memory_id": stored.memory_id, "statements": statements(p),
        "history": [{"version": h.get("version"), "name": h.get("name"), "role": h.get("role"),
                     "traits": h.get("traits", []), "preferences": h.get("preferences", []), "style": h.get("style"),
                     "updated_at": to_iso(int(h.get("updated_at") or 0))} for h in p.history],
        "status": stored.status,
    }


class PersonaService:
    def __init__(self, access: Access, memories: MemoryService) -> None:
        self._access, self._memories = access, memories

    def list(self, caller: Caller, cube_id: str | None, agent: str | None = None) -> dict[str, Any]:
        """Every persona of the cube (the caller's own by default), newest first; or one agent's."""
        cube = self._access.require(caller, cube_id, Role.READ)
        found = [s for s in self._all(caller, cube.id) if agent is None or s.persona.agent == agent]
        found.sort(key=lambda s: (-s.persona.updated_at, s.persona.id))
        return {"cube": cube.id, "personas": [persona_view(cube.id, s) for s in found]}

    def get(self, caller: Caller, persona_id: str, cube_id: str | None) -> dict[str, Any]:
        cube = self._access.require(caller, cube_id, Role.READ)
        return persona_view(cube.id, self._current(caller, cube.id, check_persona_id(persona_id)))

    async def put(self, caller: Caller, persona_id: str, spec: PersonaSpec, cube_id: str | None) -> dict[str, Any]:
        cube = self._access.require(caller, cube_id, Role.WRITE)
        check_persona_id(persona_id)
        current = self._find(caller, cube.id, persona_id)
        if current is not None and current.persona.agent != caller.agent:
            raise Conflict(f"persona {persona_id} belongs to agent {current.persona.agent}")
        wanted = Persona(persona_id, spec.name, spec.role, spec.traits, spec.preferences, spec.style,
                         agent=caller.agent, active=spec.active)
        if current is not None and current.persona.same_statements(wanted):
            stored = current
            if current.persona.active != spec.active:
                stored = await self._set_active(caller, cube.id, current, spec.active)
        else:
            stored = await self._write_version(caller, cube.id, current, wanted)
        if spec.active:
            for other in self._all(caller, cube.id):
                if other.persona.agent == caller.agent and other.persona.active and other.persona.id != persona_id:
                    await self._set_active(caller, cube.id, other, False)
        return persona_view(cube.id, stored)

    async def delete(self, caller: Caller, persona_id: str, cube_id: str | None) -> None:
        cube = self._access.require(caller, cube_id, Role.WRITE)
        current = self._current(caller, cube.id, check_persona_id(persona_id))
        if current.persona.agent != caller.agent:
            raise Conflict(f"persona {persona_id} belongs to agent {current.persona.agent}")
        await self._memories.delete(caller, current.memory_id, cube.id)

    # --- helpers -----------------------------------------------------------------------------

    async def _write_version(self, caller: Caller, cube: str, current: _Stored | None, wanted: Persona) -> _Stored:
        persona = next_version(current.persona if current else None, wanted, now_ms())
        new = NewMemory(content=render(persona), kind=Kind.PERSONA.value, tags=(TAG, id_tag(persona.id)),
                        metadata=to_metadata(persona), id=memory_id(persona.id, persona.version), cube=cube)
        accepted = await self._memories.add(caller, new, wait=True)
        if current is not None:  # its facts go with it; the new version's are read from the new text
            await self._memories.delete(caller, current.memory_id, cube)
        return _Stored(persona, accepted.id, "done" if accepted.status in ("done", "exists") else accepted.status)

    async def _set_active(self, caller: Caller, cube: str, stored: _Stored, active: bool) -> _Stored:
        persona = replace(stored.persona, active=active, updated_at=now_ms())
        accepted = await self._memories.update(caller, stored.memory_id, MemoryChanges(metadata=to_metadata(persona)),
                                               cube)
        return _Stored(persona, stored.memory_id, "done" if accepted.status == "done" else accepted.status)

    def _current(self, caller: Caller, cube: str, persona_id: str) -> _Stored:
        found = self._find(caller, cube, persona_id)
        if found is None:
            raise NotFound(f"persona {persona_id} does not exist")
        return found

    def _find(self, caller: Caller, cube: str, persona_id: str) -> _Stored | None:
        versions = [s for s in self._read(caller, cube, id_tag(persona_id)) if s.persona.id == persona_id]
        return max(versions, key=lambda s: s.persona.version, default=None)

    def _all(self, caller: Caller, cube: str) -> list[_Stored]:
        newest: dict[str, _Stored] = {}
        for s in self._read(caller, cube, TAG):
            if s.persona.id not in newest or s.persona.version > newest[s.persona.id].persona.version:
                newest[s.persona.id] = s
        return list(newest.values())

    def _read(self, caller: Caller, cube: str, tag: str) -> list[_Stored]:
        out: list[_Stored] = []
        cursor = None
        while True:
            page = self._memories.list(caller, cube_id=cube, limit=PAGE, cursor=cursor, tag=tag,
                                       kind=Kind.PERSONA.value, status=None)
            for item in page["items"]:
                persona = from_metadata(item["metadata"])
                if persona is not None and item["id"] == memory_id(persona.id, persona.version):
                    out.append(_Stored(persona, item["id"], "done"))
            cursor = page["next_cursor"]
            if cursor is None:
                return out
