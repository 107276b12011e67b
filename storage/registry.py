"""The registry: cubes (owner, kind, shard), their members and roles, and each agent's mounts.

Lives in registry.db next to the API keys (storage/api_keys.py) and the audit log
(storage/audit_log.py); all three share the migrations below.
"""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import apsw

from pipeline.access import Role
from storage.paths import shard_id
from storage.sqlite import connect, migrate, write_statements

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
    [
        "ALTER TABLE cubes ADD COLUMN description TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX cubes_by_owner ON cubes(owner)",
        """CREATE TABLE members (
            cube TEXT NOT NULL,
            agent TEXT NOT NULL,
            role INTEGER NOT NULL,
            granted_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (cube, agent)
        ) WITHOUT ROWID""",
        "CREATE INDEX members_by_agent ON members(agent)",
        """CREATE TABLE mounts (
            agent TEXT NOT NULL,
            cube TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (agent, cube)
        ) WITHOUT ROWID""",
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            admin INTEGER NOT NULL,
            hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        )""",
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            cube TEXT,
            target TEXT,
            memory_id TEXT,
            details TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX audit_by_cube ON audit(cube, seq)",
        "CREATE INDEX audit_by_actor ON audit(actor, seq)",
        "CREATE INDEX audit_by_target ON audit(target, seq)",
    ],
    [
        # Auth stays on once a key has been created, until an operator turns it off (`memos auth off`):
        # revoking the last key no longer opens the server. A data dir whose keys are all revoked
        # keeps the open state it had.
        "CREATE TABLE auth_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO auth_state(key, value) SELECT 'required', 1 "
        "WHERE EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)",
    ],
    [
        # Lifecycle (issue 17): each cube's retention rules, and which memories searches returned.
        """CREATE TABLE retention_rules (
            cube TEXT NOT NULL,
            id TEXT NOT NULL,
            rule TEXT NOT NULL,
            PRIMARY KEY (cube, id)
        ) WITHOUT ROWID""",
        """CREATE TABLE retrievals (
            cube TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            hits INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            PRIMARY KEY (cube, memory_id)
        ) WITHOUT ROWID""",
    ],
]

CUBE_COLUMNS = "id, name, kind, owner, shard, created_at, description"


@dataclass(frozen=True)
class Cube:
    id: str
    name: str
    kind: str  # "private" | "kb"
    owner: str
    shard: str
    created_at: int
    description: str = ""


@dataclass(frozen=True)
class Member:
    cube: str
    agent: str
    role: Role
    granted_by: str
    created_at: int


def shard_for(cube_id: str, n_shards: int) -> str:
    """Stable placement; recorded at creation so changing n_shards never moves a cube."""
    return shard_id(zlib.crc32(cube_id.encode()) % n_shards)


def open_registry(path: Path) -> apsw.Connection:
    conn = connect(path, synchronous="FULL")
    migrate(conn, MIGRATIONS)
    return conn


def _now() -> int:
    return int(time.time() * 1000)


class Registry:
    def __init__(self, path: Path, n_shards: int) -> None:
        self._n_shards = n_shards
        self._conn = open_registry(path)
        self._lock = threading.Lock()
        self._cache: dict[str, Cube] = {}

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return list(self._conn.execute(sql, args))

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        write_statements(self._conn, self._lock, statements, "registry")

    # --- cubes -------------------------------------------------------------------------------

    def get(self, cube_id: str) -> Cube | None:
        cube = self._cache.get(cube_id)
        if cube is not None:
            return cube
        rows = self._query(f"SELECT {CUBE_COLUMNS} FROM cubes WHERE id = ?", (cube_id,))
        if not rows:
            return None
        cube = self._cache[cube_id] = Cube(*rows[0])
        return cube

    def shard_of(self, cube_id: str) -> str:
        """Where a cube's rows go: its recorded shard, or where it will be placed once created."""
        cube = self.get(cube_id)
        return cube.shard if cube is not None else shard_for(cube_id, self._n_shards)

    def ensure_private(self, cube_id: str, agent: str) -> Cube:
        cube = self.get(cube_id)
        if cube is not None:
            return cube
        self._write([(
            "INSERT OR IGNORE INTO cubes(id, name, kind, owner, shard, created_at) VALUES (?, ?, 'private', ?, ?, ?)",
            (cube_id, agent, agent, shard_for(cube_id, self._n_shards), _now()),
        )])
        cube = self.get(cube_id)
        assert cube is not None
        return cube

    def create_kb(self, cube_id: str, name: str, owner: str, description: str) -> Cube:
        self._write([(
            "INSERT INTO cubes(id, name, kind, owner, shard, created_at, description) VALUES (?, ?, 'kb', ?, ?, ?, ?)",
            (cube_id, name, owner, shard_for(cube_id, self._n_shards), _now(), description),
        )])
        cube = self.get(cube_id)
        assert cube is not None
        return cube

    def update(self, cube_id: str, *, name: str | None, description: str | None) -> Cube:
        self._cache.pop(cube_id, None)
        self._write([(
            "UPDATE cubes SET name = coalesce(?, name), description = coalesce(?, description) WHERE id = ?",
            (name, description, cube_id),
        )])
        cube = self.get(cube_id)
        assert cube is not None
        return cube

    def delete(self, cube_id: str) -> None:
        self._cache.pop(cube_id, None)
        self._write([
            ("DELETE FROM cubes WHERE id = ?", (cube_id,)),
            ("DELETE FROM members WHERE cube = ?", (cube_id,)),
            ("DELETE FROM mounts WHERE cube = ?", (cube_id,)),
        ])

    def all(self) -> list[Cube]:
        return [Cube(*r) for r in self._query(f"SELECT {CUBE_COLUMNS} FROM cubes ORDER BY id")]

    def shards(self) -> list[str]:
        """Every shard this data directory has: the configured ones and any a cube was placed in."""
        used = {r[0] for r in self._query("SELECT DISTINCT shard FROM cubes")}
        return sorted(used | {shard_id(i) for i in range(self._n_shards)}, key=lambda s: int(s[1:]))

    # --- roles -------------------------------------------------------------------------------

    def role(self, cube_id: str, agent: str) -> Role | None:
        """The agent's role on the cube: its owner is admin; otherwise its grant, if any."""
        cube = self.get(cube_id)
        if cube is None:
            return None
        if cube.owner == agent:
            return Role.ADMIN
        rows = self._query("SELECT role FROM members WHERE cube = ? AND agent = ?", (cube_id, agent))
        return Role(rows[0][0]) if rows else None

    def grant(self, cube_id: str, agent: str, role: Role, by: str) -> Member:
        now = _now()
        self._write([(
            "INSERT INTO members(cube, agent, role, granted_by, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(cube, agent) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by",
            (cube_id, agent, int(role), by, now),
        )])
        return Member(cube_id, agent, role, by, now)

    def revoke(self, cube_id: str, agent: str) -> bool:
        existed = bool(self._query("SELECT 1 FROM members WHERE cube = ? AND agent = ?", (cube_id, agent)))
        self._write([
            ("DELETE FROM members WHERE cube = ? AND agent = ?", (cube_id, agent)),
            ("DELETE FROM mounts WHERE cube = ? AND agent = ?", (cube_id, agent)),
        ])
        return existed

    def members(self, cube_id: str) -> list[Member]:
        cube = self.get(cube_id)
        rows = self._query(
            "SELECT cube, agent, role, granted_by, created_at FROM members WHERE cube = ? ORDER BY agent", (cube_id,)
        )
        owner = [Member(cube_id, cube.owner, Role.ADMIN, cube.owner, cube.created_at)] if cube else []
        return owner + [Member(r[0], r[1], Role(r[2]), r[3], r[4]) for r in rows if cube is None or r[1] != cube.owner]

    def cubes_of(self, agent: str) -> list[tuple[Cube, Role]]:
        """Every cube the agent owns or holds a role on."""
        owned = [(Cube(*r), Role.ADMIN) for r in self._query(
            f"SELECT {CUBE_COLUMNS} FROM cubes WHERE owner = ? ORDER BY id", (agent,))]
        granted = self._query(
            f"SELECT {', '.join('c.' + c.strip() for c in CUBE_COLUMNS.split(','))}, m.role FROM members m "
            "JOIN cubes c ON c.id = m.cube WHERE m.agent = ? AND c.owner != ? ORDER BY c.id",
            (agent, agent),
        )
        return owned + [(Cube(*r[:-1]), Role(r[-1])) for r in granted]

    # --- mounts ------------------------------------------------------------------------------

    def mount(self, agent: str, cube_id: str) -> None:
        self._write([("INSERT OR IGNORE INTO mounts(agent, cube, created_at) VALUES (?, ?, ?)",
                      (agent, cube_id, _now()))])

    def unmount(self, agent: str, cube_id: str) -> bool:
        existed = bool(self._query("SELECT 1 FROM mounts WHERE agent = ? AND cube = ?", (agent, cube_id)))
        self._write([("DELETE FROM mounts WHERE agent = ? AND cube = ?", (agent, cube_id))])
        return existed

    def mounts(self, agent: str) -> list[str]:
        return [r[0] for r in self._query("SELECT cube FROM mounts WHERE agent = ? ORDER BY created_at, cube",
                                          (agent,))]

    def close(self) -> None:
        try:
            self._conn.close()
        except apsw.Error:
            pass
