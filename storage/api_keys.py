"""API keys: shown once at creation, stored only as an argon2id hash, revocable.

A key reads `mk_<id>_<secret>`: the id finds the row, the secret is checked against the hash.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import apsw
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.errors import NotFound
from storage.registry import open_registry

KEY = re.compile(r"mk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})")
# OWASP's minimum for argon2id (19 MiB, 2 passes): a verification costs milliseconds, and the
# front door verifies each key once, then remembers the result.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@dataclass(frozen=True)
class KeyRecord:
    id: str
    agent: str
    admin: bool
    created_at: int
    revoked_at: int | None


class ApiKeys:
    def __init__(self, path: Path) -> None:
        self._conn = open_registry(path)
        self._lock = threading.Lock()
        self._files = (path, path.with_name(path.name + "-wal"))
        self._any_active: tuple[tuple[int, ...], bool] | None = None

    def create(self, agent: str, admin: bool) -> tuple[KeyRecord, str]:
        """A new key for the agent; the plaintext is returned here and never again."""
        key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        secret = secrets.token_urlsafe(32)
        record = KeyRecord(key_id, agent, admin, int(time.time() * 1000), None)
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO api_keys(id, agent, admin, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (key_id, agent, int(admin), _HASHER.hash(secret), record.created_at),
            )
        return record, f"mk_{key_id}_{secret}"

    def verify(self, key: str) -> KeyRecord | None:
        """The key's record if it is well-formed, known, not revoked and its secret matches."""
        match = KEY.fullmatch(key)
        if match is None:
            return None
        key_id, secret = match.groups()
        with self._lock:
            row = self._conn.execute(
                "SELECT id, agent, admin, created_at, revoked_at, hash FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        if row is None or row[4] is not None:
            return None
        try:
            _HASHER.verify(row[5], secret)
        except (VerificationError, InvalidHashError):
            return None
        return KeyRecord(row[0], row[1], bool(row[2]), row[3], row[4])

    def is_active(self, key_id: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT revoked_at FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return row is not None and row[0] is None

    def any_active(self) -> bool:
        """Asked on every request: answered from memory until the registry file changes (any process's
        commit changes its WAL), since a read transaction per request cost the front door a fifth of its time."""
        mark = self._files_mark()
        cached = self._any_active
        if cached is not None and cached[0] == mark:
            return cached[1]
        with self._lock:
            found = self._conn.execute("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1").fetchone() is not None
        self._any_active = (mark, found)
        return found

    def _files_mark(self) -> tuple[int, ...]:
        mark: list[int] = []
        for file in self._files:
            try:
                st = os.stat(file)
                mark += [st.st_mtime_ns, st.st_size, st.st_ino]
            except FileNotFoundError:
                mark += [0, 0, 0]
        return tuple(mark)

    def list(self) -> list[KeyRecord]:
        with self._lock:
            rows = list(self._conn.execute(
                "SELECT id, agent, admin, created_at, revoked_at FROM api_keys ORDER BY created_at, id"))
        return [KeyRecord(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def revoke(self, key_id: str) -> KeyRecord:
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (int(time.time() * 1000), key_id),
            )
            row = self._conn.execute(
                "SELECT id, agent, admin, created_at, revoked_at FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"key {key_id[:40]!r} does not exist")
        return KeyRecord(row[0], row[1], bool(row[2]), row[3], row[4])

    def close(self) -> None:
        try:
            self._conn.close()
        except apsw.Error:
            pass
