"""The Overview's counts over exactly the cubes a caller may read, on real cube files and a real registry."""

from __future__ import annotations

import numpy as np

from pipeline.access import Caller, Role
from pipeline.timefmt import now_ms
from pipeline.write_decisions import WritePolicy
from service.access import Access
from service.analytics import Analytics
from storage.cube.writer import CubeWriter
from storage.cube_analytics import DAY_MS
from storage.paths import DataPaths
from storage.registry import Registry
from tests.builders import stored_row

MODEL = "all-MiniLM-L6-v2"


def write(paths: DataPaths, cube: str, rows: list[tuple[str, str, int]]) -> None:
    """(id, kind, created_at) rows into the cube's file."""
    writer = CubeWriter(paths.cube_db(cube), WritePolicy())
    writer.apply([stored_row(i + 1, memory_id, memory_id, kind=kind, created_at=at, cube=cube,
                             vector=np.ones(384, dtype=np.float32))
                  for i, (memory_id, kind, at) in enumerate(rows)], MODEL)
    writer.close()


def test_counts_cover_the_callers_own_and_shared_cubes_never_anothers(tmp_path):
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    registry = Registry(paths.registry_db, 1)
    access = Access(registry)
    today = now_ms() // DAY_MS * DAY_MS
    for agent in ("alice", "bob"):
        access.own_cube(Caller(agent))
    kb = registry.create_kb("kb-01M8T6TK2AHTYS7P1KNWN4BMX9", "team", "bob", "")
    registry.grant(kb.id, "alice", Role.READ, "bob")
    write(paths, "agent-alice", [("a1", "note", today), ("a2", "message", today - DAY_MS)])
    write(paths, "agent-bob", [("b1", "note", today), ("b2", "note", today), ("b3", "note", today)])
    write(paths, kb.id, [("k1", "note", today)])
    analytics = Analytics(access, paths)

    seen = analytics.overview(Caller("alice"), days=3)
    assert sorted(seen["cubes"]) == ["agent-alice", kb.id]
    assert seen["total"] == 3
    assert seen["by_kind"] == [{"name": "note", "memories": 2}, {"name": "message", "memories": 1}]
    assert [d["memories"] for d in seen["per_day"]] == [0, 1, 2]

    write(paths, "agent-alice", [("a3", "note", today)])  # a cube that changed is read again
    assert analytics.overview(Caller("alice"), days=1)["per_day"][-1]["memories"] == 3
    assert analytics.overview(Caller("bob"), days=1)["total"] == 4  # bob: his own cube and the kb
    analytics.close()
    registry.close()
