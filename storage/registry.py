"""The cube registry: which cubes exist, who owns them, and which shard each one lives in."""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import apsw

from storage.paths import shard_id
from storage.sqlite import connect, migrate

MIGRATIONS = [
    [
        """CREATE TABLE cubes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            owner TEXT NOT NULL,
            shard TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )""",
    ],
]


@dataclass(frozen=True)
class Cube:
    id: str
    name: str
    kind: str  # "private" | "kb"
    owner: str
    shard: str
    created_at: int


def shard_for(cube_id: str, n_shards: int) -> str:
    """Stable placement; recorded at creation so changing n_shards never moves a cube."""
    return shard_id(zlib.crc32(cube_id.encode()) % n_shards)


class Registry:
    def __init__(self, path: Path, n_shards: int) -> None:
        self._path = path
        self._n_shards = n_shards
        self._conn = connect(path, synchronous="FULL")
        migrate(self._conn, MIGRATIONS)
        self._lock = threading.Lock()
        self._cache: dict[str, Cube] = {}

    def get(self, cube_id: str) -> Cube | None:
        cube = self._cache.get(cube_id)
        if cube is not None:
            return cube
        with self._lock:
            row = self._conn.execute(
                "SELECT id, name, kind, owner, shard, created_at FROM cubes WHERE id = ?", (cube_id,)
            ).fetchone()
        if row is None:
            return None
        cube = Cube(*row)
        self._cache[cube_id] = cube
        return cube

    def ensure_private(self, cube_id: str, agent: str) -> Cube:
        cube = self.get(cube_id)
        if cube is not None:
            return cube
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR IGNORE INTO cubes(id, name, kind, owner, shard, created_at) VALUES (?, ?, 'private', ?, ?, ?)",
                (cube_id, agent, agent, shard_for(cube_id, self._n_shards), int(time.time() * 1000)),
            )
        cube = self.get(cube_id)
        assert cube is not None
        return cube

    def all(self) -> list[Cube]:
        with self._lock:
            rows = list(self._conn.execute("SELECT id, name, kind, owner, shard, created_at FROM cubes ORDER BY id"))
        return [Cube(*r) for r in rows]

    def shards(self) -> list[str]:
        """Every shard this data directory has: the configured ones and any a cube was placed in."""
        with self._lock:
            used = {r[0] for r in self._conn.execute("SELECT DISTINCT shard FROM cubes")}
        return sorted(used | {shard_id(i) for i in range(self._n_shards)}, key=lambda s: int(s[1:]))

    def close(self) -> None:
        try:
            self._conn.close()
        except apsw.Error:
            pass
