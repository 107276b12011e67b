"""API keys: shown once at creation, stored only as an argon2id hash, revocable.

A key reads `mk_<id>_<secret>`: the id finds the row, the secret is checked against the hash.
Creating the first key makes keys required; revoking keys never undoes that, only `stop_requiring`
(`memos auth off`) does, once no key is active.
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

from pipeline.errors import Conflict, NotFound
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
        self._required: tuple[tuple[int, ...], bool] | None = None

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
            self._conn.execute(
                "INSERT INTO auth_state(key, value) VALUES ('required', 1) "
                "ON CONFLICT(key) DO UPDATE SET value = 1"
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

    def required(self) -> bool:
        """Whether requests need a key: a key has been created and auth was not turned off since.

        Asked on every request: answered from memory until the registry file changes (any process's
        commit changes its WAL), since a read transaction per request cost the front door a fifth of its time."""
        mark = self._files_mark()
        cached = self._required
        if cached is not None and cached[0] == mark:
            return cached[1]
        with self._lock:
            # An active key always counts, whatever the flag says: no key is ever accepted by an open server.
            required = bool(self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM auth_state WHERE key = 'required' AND value = 1) "
                "OR EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)"
            ).fetchone()[0])
        self._required = (mark, required)
        return required

    def stop_requiring(self) -> None:
        """Turn auth off again (a loopback server then trusts X-Agent-Id); refused while a key is active."""
        with self._lock, self._conn:
            active = self._conn.execute("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[0]
            if active:
                raise Conflict(f"{active} API key(s) still active: revoke them first "
                               "(memos keys ls, memos keys revoke ID)")
            self._conn.execute(
                "INSERT INTO auth_state(key, value) VALUES ('required', 0) "
                "ON CONFLICT(key) DO UPDATE SET value = 0"
            )

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
