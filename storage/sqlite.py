"""apsw connections with our pragmas, and numbered migrations applied in order, recorded once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import apsw

from pipeline.errors import Conflict, StoreError

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


def create_migrated(path: Path, migrations: Sequence[Migration]) -> None:
    """Create the file with every migration applied, atomically, unless it exists already.

    Another process that opens `path` then finds no file or the whole schema, never a file half
    made: a reader (the prefetcher warming a new agent's cube) used to open a cube file between its
    creation and its migrations and fail on "no such table: stats".
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    conn = connect(tmp)
    try:
        migrate(conn, migrations)
    finally:
        conn.close()  # the last connection: SQLite checkpoints the WAL into the file and removes it
    try:
        os.link(tmp, path)  # unlike a rename, never replaces a file another creator made first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def schema_version(conn: apsw.Connection) -> int:
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def write_statements(conn: apsw.Connection, lock: threading.Lock, statements: list[tuple[str, tuple]],
                     store: str) -> None:
    """Run the statements as one transaction under the store's lock; a constraint is a Conflict."""
    try:
        with lock, conn:
            for sql, args in statements:
                conn.execute(sql, args)
    except apsw.ConstraintError as exc:
        raise Conflict(str(exc)) from exc
    except apsw.Error as exc:
        raise StoreError(f"{store}: {exc}") from exc
