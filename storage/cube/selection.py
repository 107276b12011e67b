"""Which memories of a cube file a cleanup filter or a retention rule selects, and which have expired.

The filter's meaning is pipeline/lifecycle.py's; this module only turns it into one SELECT on a
read connection of its own. Expired memories are never selected: they are already gone from reads.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import apsw

from pipeline.errors import StoreError
from pipeline.lifecycle import Action, CleanupFilter, content_matches
from storage.sqlite import connect


@dataclass(frozen=True)
class Selected:
    id: str
    kind: str
    created_at: int


def select(path: Path, f: CleanupFilter, action: Action | None, now: int,
           retrieved: Collection[str] | None = None) -> list[Selected]:
    """The memories the filter matches, newest first; an absent file matches nothing."""
    statuses = f.statuses(action)
    if not path.exists() or statuses == ():
        return []
    where = ["(expires_at IS NULL OR expires_at > ?)"]
    args: list[object] = [now]
    if statuses is not None:
        where.append(f"status IN ({','.join('?' * len(statuses))})")
        args += list(statuses)
    for column, value in (("tier", f.tier_wanted()), ("kind", f.kind)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    for tag in dict.fromkeys(f.tags):
        where.append("id IN (SELECT memory_id FROM memory_tags WHERE tag = ?)")
        args.append(tag)
    if f.before is not None:
        where.append("created_at < ?")
        args.append(f.before)
    if f.after is not None:
        where.append("created_at >= ?")
        args.append(f.after)
    if f.feedback_at_most is not None:
        where.append("feedback <= ?")
        args.append(f.feedback_at_most)
    words = f.words()
    columns = "id, kind, created_at" + (", content" if words else "")
    sql = f"SELECT {columns} FROM memories WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC"
    try:
        conn = connect(path)
        try:
            rows = list(conn.execute(sql, args))
        finally:
            conn.close()
    except apsw.Error as exc:
        raise StoreError(f"cannot read {path.name}: {exc}") from exc
    out = []
    for row in rows:
        if words and not (isinstance(row[3], str) and content_matches(row[3], words)):
            continue
        if f.never_retrieved and retrieved is not None and row[0] in retrieved:
            continue
        out.append(Selected(row[0], row[1], row[2]))
    return out


def expired(path: Path, now: int, limit: int) -> list[str]:
    """Ids of memories whose expiry has passed (any status), oldest expiry first."""
    if not path.exists():
        return []
    try:
        conn = connect(path)
        try:
            return [r[0] for r in conn.execute(
                "SELECT id FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?",
                (now, limit))]
        finally:
            conn.close()
    except apsw.Error as exc:
        raise StoreError(f"cannot read {path.name}: {exc}") from exc
