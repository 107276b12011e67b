"""The audit log: every grant, revoke, share, mount and cube change, who did it and when."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
import orjson

from storage.registry import open_registry


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: int
    actor: str
    action: str
    cube: str | None
    target: str | None
    memory_id: str | None
    details: dict[str, Any]


class AuditLog:
    def __init__(self, path: Path) -> None:
        self._conn = open_registry(path)
        self._lock = threading.Lock()

    def record(
        self,
        actor: str,
        action: str,
        *,
        cube: str | None = None,
        target: str | None = None,
        memory_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO audit(at, actor, action, cube, target, memory_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (int(time.time() * 1000), actor, action, cube, target, memory_id,
                 orjson.dumps(details or {}).decode()),
            )

    def events(
        self, *, cubes: Sequence[str] | None, agent: str | None, before: int | None, limit: int
    ) -> list[AuditEvent]:
        """Newest first. `cubes=None` and `agent=None` is everything (operators); otherwise the
        events on those cubes plus those the agent did or was the target of."""
        where, args = [], []
        if cubes is not None or agent is not None:
            scope = []
            if cubes:
                scope.append(f"cube IN ({','.join('?' * len(cubes))})")
                args += list(cubes)
            if agent is not None:
                scope.append("actor = ? OR target = ?")
                args += [agent, agent]
            where.append("(" + " OR ".join(scope or ["0"]) + ")")
        if before is not None:
            where.append("seq < ?")
            args.append(before)
        sql = "SELECT seq, at, actor, action, cube, target, memory_id, details FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            rows = list(self._conn.execute(sql, (*args, limit)))
        return [AuditEvent(*r[:7], orjson.loads(r[7])) for r in rows]

    def close(self) -> None:
        try:
            self._conn.close()
        except apsw.Error:
            pass
