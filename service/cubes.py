"""Cubes as a resource: create, list, change, delete; members and roles; mounts; audit; export."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from pipeline.access import Caller, Role
from pipeline.errors import Conflict, Forbidden, NotFound
from pipeline.ids import check_agent_id, is_cube_id, new_ulid
from pipeline.timefmt import to_iso
from pipeline.interchange.tables import view_table
from service.access import Access
from storage.read_side import ReadSide
from service.views import memory_view
from storage.audit_log import AuditLog, AuditEvent
from storage.registry import Cube, Member, Registry


def write_parquet(table: pa.Table, out: Path) -> None:
    """The table as a Parquet file written by DuckDB; the path is bound, never formatted into the SQL
    (a temp dir under a TMPDIR holding a quote broke the statement, or could have changed it)."""
    con = duckdb.connect()
    try:
        con.register("memories", table)
        con.execute("COPY memories TO ? (FORMAT parquet)", [str(out)])
    finally:
        con.close()


def cube_view(cube: Cube, role: Role | None, mounted: bool) -> dict[str, Any]:
    return {
        "id": cube.id,
        "name": cube.name,
        "description": cube.description,
        "kind": cube.kind,
        "owner": cube.owner,
        "shard": cube.shard,
        "created_at": to_iso(cube.created_at),
        "role": role.label if role else None,
        "mounted": mounted,
    }


def member_view(m: Member) -> dict[str, Any]:
    return {"agent": m.agent, "role": m.role.label, "granted_by": m.granted_by, "created_at": to_iso(m.created_at)}


def audit_view(e: AuditEvent) -> dict[str, Any]:
    return {"seq": e.seq, "at": to_iso(e.at), "actor": e.actor, "action": e.action, "cube": e.cube,
            "target": e.target, "memory_id": e.memory_id, "details": e.details}


class CubeService:
    def __init__(
        self,
        registry: Registry,
        access: Access,
        audit: AuditLog,
        read: ReadSide,
        drop_cube: Callable[[Cube], None],
    ) -> None:
        self._registry, self._access, self._audit, self._read = registry, access, audit, read
        self._drop_cube = drop_cube

    # --- cubes -------------------------------------------------------------------------------

    def create(self, caller: Caller, name: str, description: str) -> dict[str, Any]:
        cube = self._registry.create_kb(f"kb-{new_ulid()}", name, caller.agent, description)
        self._audit.record(caller.agent, "cube.create", cube=cube.id, details={"name": name})
        return cube_view(cube, Role.ADMIN, False)

    def list(self, caller: Caller) -> list[dict[str, Any]]:
        """The caller's own cube, every cube it holds a role on; an admin key sees every cube."""
        own = self._access.own_cube(caller)
        mounted = set(self._registry.mounts(caller.agent))
        roles = {cube.id: (cube, role) for cube, role in self._registry.cubes_of(caller.agent)}
        roles.setdefault(own.id, (own, Role.ADMIN))
        if caller.admin:
            for cube in self._registry.all():
                roles.setdefault(cube.id, (cube, None))  # type: ignore[arg-type]
        return [cube_view(c, r, c.id in mounted) for c, r in sorted(roles.values(), key=lambda cr: cr[0].id)]

    def get(self, caller: Caller, cube_id: str) -> dict[str, Any]:
        """The cube, with `hot`: whether its vectors are in the front door's memory right now."""
        cube = self._access.require(caller, cube_id, Role.READ)
        role = self._registry.role(cube.id, caller.agent)
        return {**cube_view(cube, role, cube.id in self._registry.mounts(caller.agent)), "hot": self._read.is_hot(cube.id)}

    def update(self, caller: Caller, cube_id: str, name: str | None, description: str | None) -> dict[str, Any]:
        cube = self._managed(caller, cube_id)
        updated = self._registry.update(cube.id, name=name, description=description)
        self._audit.record(caller.agent, "cube.update", cube=cube.id, details={"name": name, "description": description})
        return cube_view(updated, self._registry.role(cube.id, caller.agent), False)

    def delete(self, caller: Caller, cube_id: str) -> None:
        cube = self._managed(caller, cube_id)
        if cube.kind == "private":
            raise Conflict(f"cube {cube.id} is an agent's private cube and cannot be deleted")
        if cube.owner != caller.agent and not caller.admin:
            raise Forbidden(f"only the owner ({cube.owner}) or an admin key can delete cube {cube.id}")
        self._registry.delete(cube.id)  # from here on nobody can reach it
        self._drop_cube(cube)
        self._audit.record(caller.agent, "cube.delete", cube=cube.id, details={"name": cube.name})

    # --- members and mounts ------------------------------------------------------------------

    def members(self, caller: Caller, cube_id: str) -> list[dict[str, Any]]:
        cube = self._access.require(caller, cube_id, Role.READ)
        return [member_view(m) for m in self._registry.members(cube.id)]

    def grant(self, caller: Caller, cube_id: str, agent: str, role: Role) -> dict[str, Any]:
        cube = self._managed(caller, cube_id)
        check_agent_id(agent)
        if agent == cube.owner:
            raise Conflict(f"{agent} owns cube {cube.id}; the owner's role cannot change")
        member = self._registry.grant(cube.id, agent, role, caller.agent)
        self._audit.record(caller.agent, "member.grant", cube=cube.id, target=agent, details={"role": role.label})
        return member_view(member)

    def revoke(self, caller: Caller, cube_id: str, agent: str) -> None:
        cube = self._managed(caller, cube_id)
        check_agent_id(agent)
        if agent == cube.owner:
            raise Conflict(f"{agent} owns cube {cube.id}; the owner cannot be revoked")
        if not self._registry.revoke(cube.id, agent):
            raise NotFound(f"{agent} holds no role on cube {cube.id}")
        self._audit.record(caller.agent, "member.revoke", cube=cube.id, target=agent)

    def mount(self, caller: Caller, cube_id: str) -> dict[str, Any]:
        cube = self._access.require(caller, cube_id, Role.READ)
        if cube.id == self._access.own_cube(caller).id:
            raise Conflict("your own cube is always searched; it needs no mount")
        self._registry.mount(caller.agent, cube.id)
        self._audit.record(caller.agent, "cube.mount", cube=cube.id)
        return cube_view(cube, self._registry.role(cube.id, caller.agent), True)

    def unmount(self, caller: Caller, cube_id: str) -> None:
        if not is_cube_id(cube_id) or not self._registry.unmount(caller.agent, cube_id):
            raise NotFound(f"cube {cube_id[:80]} is not mounted")
        self._audit.record(caller.agent, "cube.unmount", cube=cube_id)

    def mounts(self, caller: Caller) -> list[dict[str, Any]]:
        out = []
        for cube_id in self._registry.mounts(caller.agent):
            cube = self._registry.get(cube_id)
            if cube is not None:
                out.append(cube_view(cube, self._registry.role(cube_id, caller.agent), True))
        return out

    # --- audit and export --------------------------------------------------------------------

    def audit(self, caller: Caller, cube_id: str | None, before: int | None, limit: int) -> dict[str, Any]:
        """Operators see everything; others see their admin cubes' events and their own."""
        if cube_id is not None:
            self._managed(caller, cube_id)
            events = self._audit.events(cubes=[cube_id], agent=None, before=before, limit=limit + 1)
        elif caller.admin:
            events = self._audit.events(cubes=None, agent=None, before=before, limit=limit + 1)
        else:
            admin_of = [c.id for c, r in self._registry.cubes_of(caller.agent) if r == Role.ADMIN]
            events = self._audit.events(cubes=admin_of, agent=caller.agent, before=before, limit=limit + 1)
        more = len(events) > limit
        events = events[:limit]
        return {"events": [audit_view(e) for e in events], "next_before": events[-1].seq if more and events else None}

    def export(self, caller: Caller, cube_id: str, fmt: str) -> tuple[str, Iterator[bytes]]:
        """Every memory of a readable cube, as JSON lines or a Parquet file (written by DuckDB)."""
        cube = self._access.require(caller, cube_id, Role.READ)
        self._audit.record(caller.agent, "cube.export", cube=cube.id, details={"format": fmt})
        if fmt == "jsonl":
            return "application/x-ndjson", self._jsonl(cube.id)
        return "application/vnd.apache.parquet", self._parquet(cube.id)

    def _records(self, cube_id: str) -> Iterator[dict[str, Any]]:
        with self._read.cube(cube_id) as store:
            if store is None:
                return
            for rec in store.iter_records():
                yield memory_view(rec)

    def _jsonl(self, cube_id: str) -> Iterator[bytes]:
        for view in self._records(cube_id):
            yield orjson.dumps(view) + b"\n"

    def _parquet(self, cube_id: str) -> Iterator[bytes]:
        # A fixed schema with JSON columns as text: inferring one made tool results that mix strings
        # and objects raise ArrowInvalid after the 200 had gone out (issue 15).
        table = view_table(self._records(cube_id))
        with tempfile.TemporaryDirectory(prefix="memos-export-") as tmp:
            out = Path(tmp) / "export.parquet"
            write_parquet(table, out)
            data = out.read_bytes()
        yield data

    # --- helpers -----------------------------------------------------------------------------

    def _managed(self, caller: Caller, cube_id: str) -> Cube:
        """A cube the caller may manage: its admins, or an operator (admin key)."""
        if caller.admin and is_cube_id(cube_id):
            cube = self._registry.get(cube_id)
            if cube is None:
                raise NotFound(f"cube {cube_id} does not exist")
            return cube
        return self._access.require(caller, cube_id, Role.ADMIN)
