"""The durable intake log: every accepted write is here, synced, before the client hears 202.

It is also the job table (progress of each accepted request) and the replay source after a
crash: every row still `pending` when the server starts is fed through the pipeline again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import apsw
import pyarrow as pa

from pipeline.records import INTAKE_SCHEMA
from storage.purge import secure, truncate_wal
from storage.sqlite import connect, migrate

MIGRATIONS = [
    [
        """CREATE TABLE intake (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL,
            op TEXT NOT NULL,
            cube TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            payload BLOB NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            error_code TEXT,
            error TEXT,
            created_at INTEGER NOT NULL,
            done_at INTEGER
        )""",
        "CREATE INDEX intake_pending ON intake(seq) WHERE state = 'pending'",
        "CREATE INDEX intake_by_job ON intake(job_id)",
        "CREATE INDEX intake_by_memory ON intake(cube, memory_id)",
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            kind TEXT NOT NULL,
            total INTEGER NOT NULL,
            done INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            finished_at INTEGER,
            error TEXT
        )""",
    ],
]


@dataclass(frozen=True)
class IntakeEntry:
    job_id: str
    op: str
    cube: str
    memory_id: str
    payload: bytes


@dataclass(frozen=True)
class Job:
    id: str
    agent: str
    kind: str
    total: int
    done: int
    failed: int
    created_at: int
    finished_at: int | None

    @property
    def status(self) -> str:
        if self.done + self.failed < self.total:
            return "queued" if self.done + self.failed == 0 else "running"
        return "failed" if self.failed else "done"


@dataclass(frozen=True)
class Failure:
    seq: int
    job_id: str
    code: str
    message: str


@dataclass(frozen=True)
class PendingAdd:
    seq: int
    job_id: str
    state: str
    payload: bytes


def _now_ms() -> int:
    return int(time.time() * 1000)


class IntakeLog:
    """One SQLite file with synchronous=FULL; one writer connection, one reader per thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        # secure: freed cells and pages are zeroed, so a forgotten payload leaves no bytes in the file
        self._writer = secure(connect(path, synchronous="FULL"))
        migrate(self._writer, MIGRATIONS)
        self._write_lock = threading.Lock()
        self._local = threading.local()

    def _reader(self) -> apsw.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, synchronous="FULL")
            self._local.conn = conn
        return conn

    def append(self, jobs: Iterable[tuple[str, str, str, int]], entries: Sequence[IntakeEntry]) -> list[int]:
        """Record jobs (id, agent, kind, total) and entries in one synced transaction; returns seqs."""
        now = _now_ms()
        seqs: list[int] = []
        with self._write_lock, self._writer:
            for job_id, agent, kind, total in jobs:
                self._writer.execute(
                    "INSERT INTO jobs(id, agent, kind, total, created_at) VALUES (?, ?, ?, ?, ?)",
                    (job_id, agent, kind, total, now),
                )
            for e in entries:
                self._writer.execute(
                    "INSERT INTO intake(job_id, op, cube, memory_id, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (e.job_id, e.op, e.cube, e.memory_id, e.payload, now),
                )
                seqs.append(self._writer.last_insert_rowid())
        return seqs

    def pending(self, after_seq: int, limit: int) -> pa.RecordBatch:
        """Pending entries past `after_seq`, oldest first, as an intake-schema Arrow batch."""
        rows = self._reader().execute(
            "SELECT seq, job_id, op, cube, memory_id, payload FROM intake "
            "WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return pa.RecordBatch.from_pylist(
            [dict(zip(INTAKE_SCHEMA.names, row)) for row in rows], schema=INTAKE_SCHEMA
        )

    def complete(self, done: Sequence[tuple[int, str]], failed: Sequence[Failure]) -> None:
        """Mark entries (seq, job_id) done and failures failed; advance their jobs, atomically."""
        now = _now_ms()
        per_job: dict[str, list[int]] = {}
        with self._write_lock, self._writer:
            for seq, job_id in done:
                self._writer.execute(
                    "UPDATE intake SET state = 'done', done_at = ? WHERE seq = ? AND state = 'pending'",
                    (now, seq),
                )
                if self._writer.changes():
                    per_job.setdefault(job_id, [0, 0])[0] += 1
            for f in failed:
                self._writer.execute(
                    "UPDATE intake SET state = 'failed', error_code = ?, error = ?, done_at = ? "
                    "WHERE seq = ? AND state = 'pending'",
                    (f.code, f.message, now, f.seq),
                )
                if self._writer.changes():
                    per_job.setdefault(f.job_id, [0, 0])[1] += 1
            for job_id, (n_done, n_failed) in per_job.items():
                self._writer.execute(
                    "UPDATE jobs SET done = done + ?, failed = failed + ?, "
                    "finished_at = CASE WHEN done + ? + failed + ? >= total THEN ? ELSE NULL END WHERE id = ?",
                    (n_done, n_failed, n_done, n_failed, now, job_id),
                )

    def advance_job(self, job_id: str, done: int) -> None:
        """Progress of a job that is not made of intake entries (a reindex)."""
        now = _now_ms()
        with self._write_lock, self._writer:
            self._writer.execute(
                "UPDATE jobs SET done = done + ?, finished_at = CASE WHEN done + ? + failed >= total THEN ? "
                "ELSE NULL END WHERE id = ?",
                (done, done, now, job_id),
            )

    def fail_job(self, job_id: str, message: str) -> None:
        with self._write_lock, self._writer:
            self._writer.execute(
                "UPDATE jobs SET failed = total - done, error = ?, finished_at = ? WHERE id = ?",
                (message, _now_ms(), job_id),
            )

    def job_error(self, job_id: str) -> str | None:
        row = self._reader().execute("SELECT error FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def fail_pending_for_cube(self, cube: str, code: str, message: str) -> list[int]:
        """Fail every pending entry of a cube (it was deleted); their jobs count them failed."""
        rows = list(self._reader().execute(
            "SELECT seq, job_id FROM intake WHERE cube = ? AND state = 'pending'", (cube,)))
        self.complete([], [Failure(seq, job_id, code, message) for seq, job_id in rows])
        return [seq for seq, _ in rows]

    def state_of(self, seqs: Sequence[int]) -> dict[int, str]:
        conn = self._reader()
        out: dict[int, str] = {}
        for seq in seqs:
            row = conn.execute("SELECT state FROM intake WHERE seq = ?", (seq,)).fetchone()
            if row is not None:
                out[seq] = row[0]
        return out

    def failure_of(self, seq: int) -> tuple[str, str] | None:
        row = self._reader().execute(
            "SELECT error_code, error FROM intake WHERE seq = ? AND state = 'failed'", (seq,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def job(self, job_id: str) -> Job | None:
        row = self._reader().execute(
            "SELECT id, agent, kind, total, done, failed, created_at, finished_at FROM jobs WHERE id = ?",
            (job_id,),
        ).fetchone()
        return Job(*row) if row else None

    def job_errors(self, job_id: str, limit: int = 20) -> list[dict[str, str]]:
        rows = self._reader().execute(
            "SELECT memory_id, error_code, error FROM intake WHERE job_id = ? AND state = 'failed' "
            "ORDER BY seq LIMIT ?",
            (job_id, limit),
        )
        errors = [{"id": r[0], "code": r[1], "message": r[2]} for r in rows]
        job_error = self.job_error(job_id)
        if job_error:
            errors.append({"id": job_id, "code": "job_failed", "message": job_error})
        return errors

    def latest_add(self, cube: str, memory_id: str) -> PendingAdd | None:
        """The newest add of this id still in the log (pending, done or failed)."""
        row = self._reader().execute(
            "SELECT seq, job_id, state, payload FROM intake WHERE cube = ? AND memory_id = ? AND op = 'add' "
            "ORDER BY seq DESC LIMIT 1",
            (cube, memory_id),
        ).fetchone()
        return PendingAdd(*row) if row else None

    def pending_ops(self, cube: str, memory_id: str) -> list[tuple[int, str]]:
        """(seq, op) of every pending entry for this memory, oldest first."""
        rows = self._reader().execute(
            "SELECT seq, op FROM intake WHERE cube = ? AND memory_id = ? AND state = 'pending' ORDER BY seq",
            (cube, memory_id),
        )
        return [(r[0], r[1]) for r in rows]

    def pending_count(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM intake WHERE state = 'pending'").fetchone()[0])

    def pending_jobs(self) -> int:
        """Jobs with at least one entry still pending (a scan of the pending entries only)."""
        return int(self._reader().execute(
            "SELECT count(DISTINCT job_id) FROM intake WHERE state = 'pending'").fetchone()[0])

    def prune(self, older_than_ms: int) -> int:
        """Forget finished entries older than the horizon; jobs keep their counters."""
        with self._write_lock, self._writer:
            self._writer.execute(
                "DELETE FROM intake WHERE state != 'pending' AND done_at < ?", (_now_ms() - older_than_ms,)
            )
            return self._writer.changes()

    def forget(self, cube: str, memory_ids: Sequence[str]) -> int:
        """Drop every finished entry of these (deleted) memories: their payloads held the content.

        Pending entries stay (recovery replays them); a job keeps its counters, and a finished
        entry is never needed again once its memory is gone."""
        removed = 0
        with self._write_lock, self._writer:
            for memory_id in memory_ids:
                self._writer.execute(
                    "DELETE FROM intake WHERE cube = ? AND memory_id = ? AND state != 'pending'", (cube, memory_id))
                removed += self._writer.changes()
        return removed

    def forget_cube(self, cube: str) -> int:
        """Drop every finished entry of a deleted cube."""
        with self._write_lock, self._writer:
            self._writer.execute("DELETE FROM intake WHERE cube = ? AND state != 'pending'", (cube,))
            return self._writer.changes()

    def finished_deletes(self) -> list[tuple[str, str]]:
        """(cube, id) of every finished delete still logged: its purge had not finished (a crash)."""
        return [(r[0], r[1]) for r in self._reader().execute(
            "SELECT cube, memory_id FROM intake WHERE op = 'delete' AND state = 'done'")]

    def checkpoint(self) -> bool:
        """Copy the WAL into the file and truncate it to nothing (old page images hold old rows).

        False while a reader still holds a snapshot the WAL serves; the caller tries again later."""
        with self._write_lock:
            return truncate_wal(self._writer)

    def close(self) -> None:
        self._writer.close()
