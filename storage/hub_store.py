"""The team tables (`team.db` in the data dir): a hub's teams, members and shared skills, and a
member's memberships, pulled skills and replicas.

Every server has both halves; a server that is no hub leaves the hub tables empty. Secrets (join
tokens, member credentials) are stored as argon2id hashes, as API keys are (storage/api_keys.py);
the credential a member holds for its hub is kept in plain text, in a file only the server's user
can read (0600), since the member must present it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.errors import Conflict
from pipeline.team.stats import RunCounts, newer_report
from storage.sqlite import connect, migrate, write_statements

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

MIGRATIONS = [
    [
        "CREATE TABLE teams (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at INTEGER NOT NULL)",
        """CREATE TABLE members (
            team TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, url TEXT NOT NULL, public_key TEXT NOT NULL,
            status TEXT NOT NULL, credential_hash TEXT, credential_plain TEXT, joined_at INTEGER NOT NULL,
            decided_at INTEGER, PRIMARY KEY (team, id))""",
        """CREATE TABLE shared_skills (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, team TEXT NOT NULL, skill_id TEXT NOT NULL,
            version INTEGER NOT NULL, name TEXT NOT NULL, publisher TEXT NOT NULL, public_key TEXT NOT NULL,
            signature TEXT NOT NULL, bundle BLOB NOT NULL, search_text TEXT NOT NULL, vector BLOB,
            published_at INTEGER NOT NULL, UNIQUE (team, skill_id, version))""",
        """CREATE TABLE skill_runs (
            team TEXT NOT NULL, skill_id TEXT NOT NULL, member TEXT NOT NULL, runs INTEGER NOT NULL,
            successes INTEGER NOT NULL, reported_at INTEGER NOT NULL, PRIMARY KEY (team, skill_id, member))""",
        "CREATE TABLE shared_cubes (team TEXT NOT NULL, cube TEXT NOT NULL, shared_at INTEGER NOT NULL, "
        "PRIMARY KEY (team, cube))",
        """CREATE TABLE memberships (
            team TEXT PRIMARY KEY, hub_url TEXT NOT NULL, member TEXT NOT NULL, status TEXT NOT NULL,
            credential TEXT, hub_key TEXT NOT NULL, joined_at INTEGER NOT NULL, pull_after INTEGER NOT NULL DEFAULT 0,
            checked_at INTEGER)""",
        """CREATE TABLE replicas (
            cube TEXT PRIMARY KEY, team TEXT NOT NULL, cursor TEXT NOT NULL, state TEXT NOT NULL,
            applied INTEGER NOT NULL DEFAULT 0, hub_last INTEGER NOT NULL DEFAULT 0, lag INTEGER NOT NULL DEFAULT 0,
            synced_at INTEGER, error TEXT, reader TEXT NOT NULL)""",
    ],
]


def _now() -> int:
    return int(time.time() * 1000)


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def secret_matches(stored_hash: str | None, secret: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class MemberRow:
    team: str
    id: str
    name: str
    url: str
    public_key: str
    status: str
    joined_at: int
    decided_at: int | None
    credential_hash: str | None


@dataclass(frozen=True)
class Membership:
    team: str
    hub_url: str
    member: str
    status: str
    credential: str | None
    hub_key: str
    joined_at: int
    pull_after: int
    checked_at: int | None


@dataclass(frozen=True)
class SharedSkill:
    seq: int
    team: str
    skill_id: str
    version: int
    name: str
    publisher: str
    public_key: str
    signature: str
    bundle: bytes
    search_text: str
    vector: bytes | None
    published_at: int


@dataclass(frozen=True)
class Replica:
    cube: str
    team: str
    cursor: str
    state: str
    applied: int
    hub_last: int
    lag: int
    synced_at: int | None
    error: str | None
    reader: str


_MEMBER_COLS = "team, id, name, url, public_key, status, joined_at, decided_at, credential_hash"
_SKILL_COLS = ("seq, team, skill_id, version, name, publisher, public_key, signature, bundle, search_text, vector, "
               "published_at")
_MEMBERSHIP_COLS = "team, hub_url, member, status, credential, hub_key, joined_at, pull_after, checked_at"
_REPLICA_COLS = "cube, team, cursor, state, applied, hub_last, lag, synced_at, error, reader"


class TeamStore:
    def __init__(self, path: Path) -> None:
        fresh = not path.exists()
        self._conn = connect(path, synchronous="FULL")
        if fresh:
            os.chmod(path, 0o600)  # it holds the credential this server presents to its hub
        migrate(self._conn, MIGRATIONS)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return list(self._conn.execute(sql, args))

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        write_statements(self._conn, self._lock, statements, "team store")

    # --- hub: teams and members --------------------------------------------------------------

    def create_team(self, name: str, token_secret: str) -> None:
        self._write([("INSERT INTO teams(name, token_hash, created_at) VALUES (?, ?, ?)",
                      (name, hash_secret(token_secret), _now()))])

    def teams(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM teams ORDER BY name")]

    def token_matches(self, team: str, secret: str) -> bool:
        rows = self._rows("SELECT token_hash FROM teams WHERE name = ?", (team,))
        return bool(rows) and secret_matches(rows[0][0], secret)

    def add_member(self, team: str, member: str, name: str, url: str, public_key: str) -> MemberRow:
        """A join request; a server that asks again while pending or rejected is pending again."""
        existing = self.member(team, member)
        if existing is not None and existing.status in ("approved", "pending"):
            return existing
        self._write([(
            "INSERT INTO members(team, id, name, url, public_key, status, joined_at) VALUES (?, ?, ?, ?, ?, 'pending', ?) "
            "ON CONFLICT(team, id) DO UPDATE SET name = excluded.name, url = excluded.url, status = 'pending', "
            "public_key = excluded.public_key, joined_at = excluded.joined_at, decided_at = NULL, "
            "credential_hash = NULL, credential_plain = NULL",
            (team, member, name, url, public_key, _now()))])
        row = self.member(team, member)
        assert row is not None
        return row

    def member(self, team: str, member: str) -> MemberRow | None:
        rows = self._rows(f"SELECT {_MEMBER_COLS} FROM members WHERE team = ? AND id = ?", (team, member))
        return MemberRow(*rows[0]) if rows else None

    def members(self, team: str | None) -> list[MemberRow]:
        if team is None:
            return [MemberRow(*r) for r in self._rows(f"SELECT {_MEMBER_COLS} FROM members ORDER BY team, joined_at")]
        return [MemberRow(*r) for r in self._rows(
            f"SELECT {_MEMBER_COLS} FROM members WHERE team = ? ORDER BY joined_at", (team,))]

    def teams_of(self, member: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT team FROM members WHERE id = ?", (member,))]

    def decide(self, team: str, member: str, status: str, credential_secret: str | None = None,
               credential: str | None = None) -> None:
        """Approve (with the new credential, kept in plain text until the member collects it), reject or remove."""
        self._write([(
            "UPDATE members SET status = ?, decided_at = ?, credential_hash = ?, credential_plain = ? "
            "WHERE team = ? AND id = ?",
            (status, _now(), hash_secret(credential_secret) if credential_secret else None, credential, team, member))])

    def collect_credential(self, team: str, member: str) -> str | None:
        """The approved member's credential, handed over once and then forgotten here."""
        rows = self._rows("SELECT credential_plain FROM members WHERE team = ? AND id = ? AND status = 'approved'",
                          (team, member))
        if not rows or rows[0][0] is None:
            return None
        self._write([("UPDATE members SET credential_plain = NULL WHERE team = ? AND id = ?", (team, member))])
        return rows[0][0]

    # --- hub: shared skills ------------------------------------------------------------------

    def store_skill(self, team: str, skill_id: str, version: int, name: str, publisher: str, public_key: str,
                    signature: str, bundle: bytes, search_text: str, vector: bytes | None) -> tuple[int, bool]:
        """(seq, stored now); the same version published again with the same signature is a no-op."""
        rows = self._rows("SELECT seq, signature FROM shared_skills WHERE team = ? AND skill_id = ? AND version = ?",
                          (team, skill_id, version))
        if rows:
            if rows[0][1] != signature:
                raise Conflict(f"skill {skill_id} version {version} is already shared in team {team}; "
                               "publish a new version")
            return int(rows[0][0]), False
        self._write([(
            "INSERT INTO shared_skills(team, skill_id, version, name, publisher, public_key, signature, bundle, "
            "search_text, vector, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (team, skill_id, version, name, publisher, public_key, signature, bundle, search_text, vector, _now()))])
        seq = self._rows("SELECT seq FROM shared_skills WHERE team = ? AND skill_id = ? AND version = ?",
                         (team, skill_id, version))[0][0]
        return int(seq), True

    def skills_after(self, team: str, after: int, limit: int) -> list[SharedSkill]:
        return [SharedSkill(*r) for r in self._rows(
            f"SELECT {_SKILL_COLS} FROM shared_skills WHERE team = ? AND seq > ? ORDER BY seq LIMIT ?",
            (team, after, limit))]

    def latest_skills(self, team: str) -> list[SharedSkill]:
        """The newest version of each shared skill of the team."""
        return [SharedSkill(*r) for r in self._rows(
            f"SELECT {_SKILL_COLS} FROM shared_skills s WHERE team = ? AND version = "
            "(SELECT max(version) FROM shared_skills t WHERE t.team = s.team AND t.skill_id = s.skill_id) "
            "ORDER BY skill_id", (team,))]

    def drop_published(self, team: str, member: str) -> int:
        count = self._rows("SELECT count(*) FROM shared_skills WHERE team = ? AND publisher = ?", (team, member))[0][0]
        self._write([("DELETE FROM shared_skills WHERE team = ? AND publisher = ?", (team, member))])
        return int(count)

    def report_runs(self, team: str, skill_id: str, member: str, counts: RunCounts) -> None:
        rows = self._rows("SELECT runs, successes FROM skill_runs WHERE team = ? AND skill_id = ? AND member = ?",
                          (team, skill_id, member))
        kept = newer_report(RunCounts(*rows[0]) if rows else None, counts)
        self._write([(
            "INSERT INTO skill_runs(team, skill_id, member, runs, successes, reported_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(team, skill_id, member) DO UPDATE SET runs = excluded.runs, successes = excluded.successes, "
            "reported_at = excluded.reported_at",
            (team, skill_id, member, kept.runs, kept.successes, _now()))])

    def runs_by_member(self, team: str, skill_id: str) -> dict[str, RunCounts]:
        return {r[0]: RunCounts(r[1], r[2]) for r in self._rows(
            "SELECT member, runs, successes FROM skill_runs WHERE team = ? AND skill_id = ? ORDER BY member",
            (team, skill_id))}

    # --- hub: shared knowledge-base cubes ------------------------------------------------------

    def share_cube(self, team: str, cube: str) -> None:
        self._write([("INSERT OR IGNORE INTO shared_cubes(team, cube, shared_at) VALUES (?, ?, ?)",
                      (team, cube, _now()))])

    def unshare_cube(self, team: str, cube: str) -> bool:
        found = bool(self._rows("SELECT 1 FROM shared_cubes WHERE team = ? AND cube = ?", (team, cube)))
        self._write([("DELETE FROM shared_cubes WHERE team = ? AND cube = ?", (team, cube))])
        return found

    def shared_cubes(self, team: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT cube FROM shared_cubes WHERE team = ? ORDER BY cube", (team,))]

    # --- member: memberships, replicas -------------------------------------------------------

    def save_membership(self, team: str, hub_url: str, member: str, status: str, hub_key: str) -> None:
        self._write([(
            "INSERT INTO memberships(team, hub_url, member, status, hub_key, joined_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(team) DO UPDATE SET hub_url = excluded.hub_url, member = excluded.member, "
            "status = excluded.status, hub_key = excluded.hub_key, joined_at = excluded.joined_at, credential = NULL",
            (team, hub_url, member, status, hub_key, _now()))])

    def membership(self, team: str) -> Membership | None:
        rows = self._rows(f"SELECT {_MEMBERSHIP_COLS} FROM memberships WHERE team = ?", (team,))
        return Membership(*rows[0]) if rows else None

    def memberships(self) -> list[Membership]:
        return [Membership(*r) for r in self._rows(f"SELECT {_MEMBERSHIP_COLS} FROM memberships ORDER BY team")]

    def update_membership(self, team: str, *, status: str | None = None, credential: str | None = None,
                          pull_after: int | None = None) -> None:
        self._write([(
            "UPDATE memberships SET status = coalesce(?, status), credential = coalesce(?, credential), "
            "pull_after = coalesce(?, pull_after), checked_at = ? WHERE team = ?",
            (status, credential, pull_after, _now(), team))])

    def save_replica(self, cube: str, team: str, reader: str) -> Replica:
        self._write([(
            "INSERT OR IGNORE INTO replicas(cube, team, cursor, state, reader) VALUES (?, ?, '', 'new', ?)",
            (cube, team, reader))])
        replica = self.replica(cube)
        assert replica is not None
        return replica

    def replica(self, cube: str) -> Replica | None:
        rows = self._rows(f"SELECT {_REPLICA_COLS} FROM replicas WHERE cube = ?", (cube,))
        return Replica(*rows[0]) if rows else None

    def replicas(self, team: str | None = None) -> list[Replica]:
        if team is None:
            return [Replica(*r) for r in self._rows(f"SELECT {_REPLICA_COLS} FROM replicas ORDER BY cube")]
        return [Replica(*r) for r in self._rows(f"SELECT {_REPLICA_COLS} FROM replicas WHERE team = ? ORDER BY cube",
                                                (team,))]

    def advance_replica(self, cube: str, cursor: str, applied: int, hub_last: int, lag: int, state: str) -> None:
        """One page applied: its cursor is kept, so a cut connection resumes after it."""
        self._write([(
            "UPDATE replicas SET cursor = ?, applied = applied + ?, hub_last = ?, lag = ?, state = ?, synced_at = ?, "
            "error = NULL WHERE cube = ?", (cursor, applied, hub_last, lag, state, _now(), cube))])

    def replica_failed(self, cube: str, error: str) -> None:
        self._write([("UPDATE replicas SET state = 'error', error = ? WHERE cube = ?", (error[:500], cube))])


def bundle_bytes(value: Any) -> bytes:
    return orjson.dumps(value)
