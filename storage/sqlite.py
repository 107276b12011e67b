"""apsw connections with our pragmas, and numbered migrations applied in order, recorded once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import apsw

from pipeline.errors import StoreError

Migration = Sequence[str]  # single SQL statements, applied in order in one transaction


def connect(path: Path, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 10_000) -> apsw.Connection:
    """Open (creating if needed) a WAL-mode database file.

    FULL syncs the WAL on every commit (the intake log's promise); NORMAL is enough for files
    that the intake log can rebuild by replay.
    """
    try:
        conn = apsw.Connection(str(path))
        conn.set_busy_timeout(busy_timeout_ms)
        conn.pragma("journal_mode", "wal")
        conn.pragma("synchronous", synchronous)
        conn.pragma("foreign_keys", 1)
        return conn
    except apsw.Error as exc:
        raise StoreError(f"cannot open database {path.name}: {exc}") from exc


def migrate(conn: apsw.Connection, migrations: Sequence[Migration]) -> int:
    """Apply every migration not yet recorded; returns the schema version reached."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    for number, statements in enumerate(migrations, start=1):
        if number in applied:
            continue
        with conn:
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)",
                (number, int(time.time() * 1000)),
            )
    return len(migrations)


def schema_version(conn: apsw.Connection) -> int:
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)
