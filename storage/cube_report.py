"""A cube's governance figures, by DuckDB over the cube file's columns.

As for the Overview (storage/cube_analytics.py), the duckdb wheel reads SQLite only through an
extension it would download, so the narrow columns the report needs (no content, no vectors) are
read with apsw in one read transaction and DuckDB runs the report's SQL over them as Arrow tables.
"""

from __future__ import annotations

from collections.abc import Collection
from itertools import islice
from pathlib import Path
from typing import Any

import apsw
import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import StoreError
from storage.sqlite import connect

MEMORY_COLUMNS = pa.schema([("id", pa.string()), ("created_at", pa.int64()), ("tier", pa.string()),
                            ("kind", pa.string()), ("status", pa.string()), ("content_hash", pa.string()),
                            ("feedback", pa.int64()), ("expires_at", pa.int64())])
TAG_COLUMNS = pa.schema([("tag", pa.string()), ("memory_id", pa.string())])
DAY_MS = 86_400_000
# Age buckets, in days: (label, lower bound, upper bound).
AGE_BUCKETS = (("under 1 day", 0, 1), ("1-7 days", 1, 7), ("7-30 days", 7, 30), ("30-365 days", 30, 365),
               ("over 365 days", 365, None))
_READ_ROWS = 20_000
TOP_TAGS = 50
OLDEST = 5


def _read(conn: apsw.Connection, sql: str, schema: pa.Schema) -> pa.Table:
    rows = conn.execute(sql)
    batches = []
    for chunk in iter(lambda: list(islice(rows, _READ_ROWS)), []):
        columns = list(zip(*chunk))
        batches.append(pa.RecordBatch.from_arrays(
            [pa.array(col, f.type) for col, f in zip(columns, schema)], schema=schema))
    return pa.Table.from_batches(batches, schema) if batches else schema.empty_table()


def read_tables(path: Path) -> tuple[pa.Table, pa.Table] | None:
    """The cube's memory and tag columns, or None without a file."""
    if not path.exists():
        return None
    conn = connect(path)
    try:
        with conn:  # one read transaction: memories and tags agree
            memories = _read(conn, "SELECT id, created_at, tier, kind, status, content_hash, feedback, expires_at "
                                   "FROM memories", MEMORY_COLUMNS)
            tags = _read(conn, "SELECT tag, memory_id FROM memory_tags", TAG_COLUMNS)
    except apsw.Error as exc:
        raise StoreError(f"cannot read {path.name}: {exc}") from exc
    finally:
        conn.close()
    return memories, tags


def report(memories: pa.Table, tags: pa.Table, retrieved: Collection[str], now: int) -> dict[str, Any]:
    """Counts by tier, kind, status, tag and age; duplicates; superseded facts; never retrieved; the oldest."""
    db = duckdb.connect()
    try:
        expires = memories["expires_at"]
        # Live: shown by reads (an expired memory waiting for the sweeper is not).
        live = memories.filter(pc.or_kleene(pc.is_null(expires), pc.greater(expires, now)))
        db.register("memories", memories)
        db.register("live", live)
        db.register("tags", tags)
        db.register("retrieved", pa.table({"memory_id": pa.array(sorted(retrieved), pa.string())}))

        def counts(sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
            return [{"name": r[0], "memories": int(r[1])} for r in db.execute(sql, args or []).fetchall()]

        def one(sql: str, args: list[Any] | None = None) -> int:
            return int(db.execute(sql, args or []).fetchone()[0] or 0)

        by_age = []
        for label, low, high in AGE_BUCKETS:
            bound = "AND ? - created_at < ?" if high is not None else ""
            args = [now, low * DAY_MS] + ([now, high * DAY_MS] if high is not None else [])
            by_age.append({"name": label, "memories": one(
                f"SELECT count(*) FROM live WHERE status = 'active' AND ? - created_at >= ? {bound}", args)})
        oldest = [{"id": r[0], "created_at": int(r[1]), "tier": r[2], "kind": r[3]} for r in db.execute(
            "SELECT id, created_at, tier, kind FROM live WHERE status = 'active' ORDER BY created_at, id LIMIT ?",
            [OLDEST]).fetchall()]
        return {
            "total": one("SELECT count(*) FROM live"),
            "active": one("SELECT count(*) FROM live WHERE status = 'active'"),
            "by_tier": counts("SELECT tier, count(*) n FROM live GROUP BY tier ORDER BY n DESC, tier"),
            "by_kind": counts("SELECT kind, count(*) n FROM live GROUP BY kind ORDER BY n DESC, kind"),
            "by_status": counts("SELECT status, count(*) n FROM live GROUP BY status ORDER BY n DESC, status"),
            "by_tag": counts("SELECT t.tag, count(*) n FROM tags t JOIN live m ON m.id = t.memory_id "
                             "GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT ?", [TOP_TAGS]),
            "by_age": by_age,
            "duplicates": one("SELECT count(*) FROM live WHERE status = 'duplicate'"),
            "duplicate_groups": one("SELECT count(*) FROM (SELECT content_hash FROM live WHERE content_hash != '' "
                                    "GROUP BY content_hash HAVING count(*) > 1)"),
            "superseded_facts": one("SELECT count(*) FROM live WHERE status = 'superseded' AND tier = 'world'"),
            "archived": one("SELECT count(*) FROM live WHERE status = 'archived'"),
            "expiring": one("SELECT count(*) FROM live WHERE expires_at IS NOT NULL"),
            "expired_unswept": one("SELECT count(*) FROM memories WHERE expires_at <= ?", [now]),
            "never_retrieved": one("SELECT count(*) FROM live WHERE status = 'active' "
                                   "AND id NOT IN (SELECT memory_id FROM retrieved)"),
            "oldest": oldest,
        }
    finally:
        db.close()


def size_on_disk(files: Collection[Path]) -> int:
    """Bytes of the files that exist (a folder counts every file under it)."""
    total = 0
    for path in files:
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.exists():
            total += path.stat().st_size
    return total
