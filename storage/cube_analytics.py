"""A cube's memories as a few narrow Arrow columns, and the DuckDB aggregations the Overview shows.

DuckDB reads SQLite files only through its `sqlite_scanner` extension, which the duckdb wheel does
not ship (it is downloaded on first use, and nothing is downloaded at run time). So the columns an
aggregation needs (`created_at`, `tier`, `kind`, `status`: no content, no vectors) are read from
the cube file with apsw in one pass, and DuckDB runs its SQL over the Arrow table, zero-copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import apsw
import duckdb
import pyarrow as pa

from pipeline.errors import StoreError
from storage.sqlite import connect

COLUMNS = pa.schema([("created_at", pa.int64()), ("tier", pa.string()), ("kind", pa.string()),
                     ("status", pa.string())])
DAY_MS = 86_400_000
_READ_ROWS = 20_000


@dataclass(frozen=True)
class CubeColumns:
    """A cube's analytic columns as of `mark` (its change feed's last seq: a later write changes it)."""

    mark: tuple[int, int]
    table: pa.Table


def change_mark(path: Path) -> tuple[int, int] | None:
    """What identifies the cube's current content (file identity, last change), or None without a file."""
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return None
    conn = _open(path)
    try:
        return inode, _last_change(conn)
    except apsw.Error as exc:
        raise StoreError(f"cannot read {path.name}: {exc}") from exc
    finally:
        conn.close()


def read_columns(path: Path) -> CubeColumns | None:
    """Every memory's created_at, tier, kind and status (any status), read in chunks; None without a file."""
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return None
    conn = _open(path)
    try:
        with conn:  # one read transaction: the mark and the rows agree
            mark = _last_change(conn)
            rows = conn.execute("SELECT created_at, tier, kind, status FROM memories")
            batches = [_batch(chunk) for chunk in iter(lambda: list(islice(rows, _READ_ROWS)), [])]
    except apsw.Error as exc:
        raise StoreError(f"cannot read {path.name}: {exc}") from exc
    finally:
        conn.close()
    table = pa.Table.from_batches(batches, COLUMNS) if batches else COLUMNS.empty_table()
    return CubeColumns((inode, mark), table)


def _batch(rows: list[tuple]) -> pa.RecordBatch:
    created, tier, kind, status = zip(*rows)
    return pa.RecordBatch.from_arrays(
        [pa.array(created, pa.int64()), pa.array(tier, pa.string()), pa.array(kind, pa.string()),
         pa.array(status, pa.string())], schema=COLUMNS)


def _open(path: Path) -> apsw.Connection:
    return connect(path)


def _last_change(conn: apsw.Connection) -> int:
    # Every insert, update and delete of a memory appends to the change feed, so its last seq moves.
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0])


class CubeAggregates:
    """DuckDB over the concatenated columns of several cubes: counts by tier, kind and status, and per day."""

    def __init__(self) -> None:
        self._db = duckdb.connect()  # in memory; each call works on its own cursor (thread-safe)

    def close(self) -> None:
        self._db.close()

    def counts(self, table: pa.Table) -> list[tuple[str, str, str, int]]:
        """(tier, kind, status, memories) for every combination present."""
        cur = self._db.cursor()
        try:
            cur.register("memories", table)
            return [(r[0], r[1], r[2], int(r[3])) for r in cur.execute(
                "SELECT tier, kind, status, count(*) FROM memories GROUP BY ALL ORDER BY ALL").fetchall()]
        finally:
            cur.close()

    def per_day(self, table: pa.Table, since_ms: int) -> list[tuple[int, int]]:
        """(day number since the epoch, memories created that UTC day) for days with any, from since_ms on."""
        cur = self._db.cursor()
        try:
            cur.register("memories", table)
            rows = cur.execute(
                "SELECT created_at // ? AS day, count(*) FROM memories WHERE created_at >= ? GROUP BY day ORDER BY day",
                [DAY_MS, since_ms]).fetchall()
            return [(int(d), int(n)) for d, n in rows]
        finally:
            cur.close()
