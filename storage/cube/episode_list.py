"""A page of a cube's episodes, newest first, for browsing (the episodes table has no list in CubeReader).

Keyset pagination on (opened_at, id), one extra row fetched to know whether a next page exists, so a
page never reads more of the cube than it shows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import apsw
import orjson

from pipeline.errors import Invalid, StoreError
from storage.sqlite import connect


@dataclass(frozen=True)
class EpisodeRow:
    id: str
    task: str
    agent: str
    outcome: str
    opened_at: int
    closed_at: int | None
    traces: int  # its trace memories (summaries excluded)


@dataclass(frozen=True)
class EpisodePage:
    items: list[EpisodeRow]
    next_cursor: str | None


def encode_episode_cursor(opened_at: int, episode_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(["ep", opened_at, episode_id])).decode()


def decode_episode_cursor(cursor: str) -> tuple[int, str]:
    try:
        tag, opened_at, episode_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if tag != "ep":
            raise ValueError(tag)
        return int(opened_at), str(episode_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor is not one this server issued") from exc


def episode_page(path: Path, limit: int, cursor: str | None, outcome: str | None = None) -> EpisodePage:
    """Episodes newest first (by opening time); `outcome` keeps only closed ones with that outcome."""
    where, args = [], []
    if outcome is not None:
        where.append("closed_at IS NOT NULL AND outcome = ?")
        args.append(outcome)
    if cursor is not None:
        opened_at, episode_id = decode_episode_cursor(cursor)
        where.append("(opened_at < ? OR (opened_at = ? AND id < ?))")
        args += [opened_at, opened_at, episode_id]
    if not path.exists():
        return EpisodePage([], None)
    sql = ("SELECT id, task, agent, outcome, opened_at, closed_at, "
           "(SELECT count(*) FROM memories m WHERE m.episode = e.id AND m.kind != 'summary') FROM episodes e")
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY opened_at DESC, id DESC LIMIT ?"
    conn = connect(path)
    try:
        rows = [EpisodeRow(*r) for r in conn.execute(sql, (*args, limit + 1))]
    except apsw.Error as exc:
        raise StoreError(f"cannot read episodes of {path.name}: {exc}") from exc
    finally:
        conn.close()
    more = len(rows) > limit
    rows = rows[:limit]
    return EpisodePage(rows, encode_episode_cursor(rows[-1].opened_at, rows[-1].id) if more and rows else None)
