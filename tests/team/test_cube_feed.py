"""Replication pages of a real cube file (storage/cube_feed.py, service/team/replication.py feed_page):
a snapshot walk in pages, then the change feed from the seq the walk began at."""

from __future__ import annotations

import numpy as np

from pipeline.team.cursor import parse_cursor
from pipeline.write_decisions import WritePolicy
from service.team.replication import feed_page
from storage.cube.writer import CubeWriter
from storage.paths import DataPaths
from storage.registry import Cube
from tests.builders import stored_row

MODEL = "all-MiniLM-L6-v2"


def row(seq: int, memory_id: str, content: str = "text", op: str = "add", **extra):
    v = np.random.default_rng(seq).normal(size=384).astype(np.float32)
    return stored_row(seq, memory_id, content, op, **{"vector": v / np.linalg.norm(v), "cube": "kb-01J00000000000000000000000", **extra})


def test_pages_walk_the_snapshot_then_follow_the_feed_with_deletes_and_edits(tmp_path):
    paths = DataPaths(tmp_path)
    paths.ensure()
    cube = Cube("kb-01J00000000000000000000000", "kb", "kb", "default", "s0", 0)
    writer = CubeWriter(paths.cube_db(cube.id), WritePolicy())
    writer.apply([row(i, f"m{i:02d}", f"note {i}") for i in range(1, 6)], MODEL)

    pages, cursor = [], ""
    while True:
        page = feed_page(paths, cube, cursor, 2)
        pages.append(page)
        cursor = page["cursor"]
        if not page["more"]:
            break
    walked = [o["id"] for p in pages for o in p["objects"] if o["object"] == "memory"]
    assert walked == ["m01", "m02", "m03", "m04", "m05"]  # every memory once, in key order
    assert all(len(p["vectors"]) == len([o for o in p["objects"] if o["object"] == "memory"]) for p in pages)
    assert pages[0]["range"]["high"] == [1002, "m02"] and pages[2]["range"]["high"] is None
    position = parse_cursor(cursor)
    assert position is not None and not position.snapshot

    writer.apply([row(10, "m02", op="delete"), row(11, "m03", "note 3, edited", op="update", base_version=1)], MODEL)
    page = feed_page(paths, cube, cursor, 100)
    assert page["deletes"] == ["m02"] and [o["id"] for o in page["objects"] if o["object"] == "memory"] == ["m03"]
    assert [o for o in page["objects"] if o["object"] == "version"][0]["content"] == "note 3"
    assert page["more"] is False and feed_page(paths, cube, page["cursor"], 100)["objects"] == []
    writer.close()
