"""What the Overview counts: memories by tier, kind and status, and per day, over the caller's cubes.

Only cubes the caller may read are counted (service/access.py `Access.lookup_order`: its own cube,
its mounts, its other memberships). Each cube's columns are read once and kept until its change
feed moves (storage/cube_analytics.py); DuckDB aggregates the union.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline.access import Caller
from pipeline.timefmt import now_ms
from service.access import Access
from storage.cube_analytics import DAY_MS, CubeAggregates, CubeColumns, change_mark, read_columns
from storage.paths import DataPaths

DAYS_SHOWN = 60
CACHED_CUBES = 64


class Analytics:
    def __init__(self, access: Access, paths: DataPaths, cached_cubes: int = CACHED_CUBES) -> None:
        self._access, self._paths, self._cached_cubes = access, paths, cached_cubes
        self._aggregates = CubeAggregates()
        self._columns: OrderedDict[str, CubeColumns] = OrderedDict()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._aggregates.close()

    def overview(self, caller: Caller, days: int = DAYS_SHOWN) -> dict[str, Any]:
        """Counts over every cube the caller may read, and memories created per UTC day for `days` days."""
        cubes = [c.id for c in self._access.lookup_order(caller)]
        tables = [t for t in (self._cube_columns(c) for c in cubes) if t is not None]
        table = pa.concat_tables(tables) if tables else None
        counts = self._aggregates.counts(table) if table is not None and table.num_rows else []
        today = now_ms() // DAY_MS
        first = today - days + 1
        found = dict(self._aggregates.per_day(table, first * DAY_MS)) if table is not None and table.num_rows else {}
        return {
            "cubes": cubes,
            "total": sum(n for *_, n in counts),
            "by_tier": _totals(counts, 0),
            "by_kind": _totals(counts, 1),
            "by_status": _totals(counts, 2),
            "per_day": [{"day": _day_iso(d), "memories": found.get(d, 0)} for d in range(first, today + 1)],
        }

    def _cube_columns(self, cube_id: str) -> pa.Table | None:
        path = self._paths.cube_db(cube_id)
        mark = change_mark(path)
        if mark is None:
            return None
        with self._lock:
            cached = self._columns.get(cube_id)
            if cached is not None and cached.mark == mark:
                self._columns.move_to_end(cube_id)
                return cached.table
        fresh = read_columns(path)
        if fresh is None:
            return None
        with self._lock:
            self._columns[cube_id] = fresh
            self._columns.move_to_end(cube_id)
            while len(self._columns) > self._cached_cubes:
                self._columns.popitem(last=False)
        return fresh.table


def _totals(counts: list[tuple[str, str, str, int]], position: int) -> list[dict[str, Any]]:
    """Counts summed by one of (tier, kind, status), largest first."""
    summed: dict[str, int] = {}
    for row in counts:
        summed[row[position]] = summed.get(row[position], 0) + row[3]
    return [{"name": k, "memories": v} for k, v in sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))]


def _day_iso(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_MS / 1000, UTC).date().isoformat()
