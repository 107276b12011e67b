"""What the lifecycle keeps in the registry: each cube's retention rules, and which memories searches returned.

Retention rules live beside the cube's registry row (they are the cube's settings, not memories);
retrievals are counted in memory by the search path and written here in one transaction per
sweep, so a search never waits on a registry write.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import apsw
import orjson

from pipeline.errors import StoreError
from pipeline.lifecycle import RetentionRule
from pipeline.timefmt import now_ms
from storage.registry import open_registry


class LifecycleStore:
    def __init__(self, path: Path) -> None:
        self._conn = open_registry(path)
        self._lock = threading.Lock()
        self._pending: Counter[tuple[str, str]] = Counter()
        self._pending_lock = threading.Lock()

    def close(self) -> None:
        self.flush()
        self._conn.close()

    def _write(self, statements: Iterable[tuple[str, tuple]]) -> None:
        try:
            with self._lock, self._conn:
                for sql, args in statements:
                    self._conn.execute(sql, args)
        except apsw.Error as exc:
            raise StoreError(f"registry: {exc}") from exc

    # --- retention rules ---------------------------------------------------------------------

    def rules(self, cube: str) -> list[RetentionRule]:
        with self._lock:
            rows = list(self._conn.execute("SELECT rule FROM retention_rules WHERE cube = ? ORDER BY id", (cube,)))
        return [RetentionRule.from_dict(orjson.loads(r[0])) for r in rows]

    def cubes_with_rules(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT DISTINCT cube FROM retention_rules ORDER BY cube")]

    def put_rule(self, cube: str, rule: RetentionRule) -> None:
        self._write([("INSERT OR REPLACE INTO retention_rules(cube, id, rule) VALUES (?, ?, ?)",
                      (cube, rule.id, orjson.dumps(rule.as_dict()).decode()))])

    def delete_rule(self, cube: str, rule_id: str) -> bool:
        with self._lock:
            found = self._conn.execute("SELECT 1 FROM retention_rules WHERE cube = ? AND id = ?",
                                       (cube, rule_id)).fetchone() is not None
        if found:
            self._write([("DELETE FROM retention_rules WHERE cube = ? AND id = ?", (cube, rule_id))])
        return found

    def forget_cube(self, cube: str) -> None:
        """A deleted cube's rules and counts go with it (a cube made later under its id starts bare)."""
        self._write([("DELETE FROM retention_rules WHERE cube = ?", (cube,)),
                     ("DELETE FROM retrievals WHERE cube = ?", (cube,))])

    # --- retrievals --------------------------------------------------------------------------

    def retrieved(self, keys: Iterable[tuple[str, str]]) -> None:
        """Count search results (cube, memory id); written by `flush`."""
        with self._pending_lock:
            self._pending.update(keys)

    def flush(self) -> int:
        with self._pending_lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        at = now_ms()
        self._write((
            "INSERT INTO retrievals(cube, memory_id, hits, last_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(cube, memory_id) DO UPDATE SET hits = hits + excluded.hits, last_at = excluded.last_at",
            (cube, memory_id, hits, at)) for (cube, memory_id), hits in pending.items())
        return len(pending)

    def retrieved_ids(self, cube: str) -> set[str]:
        self.flush()
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT memory_id FROM retrievals WHERE cube = ?", (cube,))}
