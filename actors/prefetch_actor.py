"""The prefetch actor: watches session activity and predicts the cubes and queries that come next.

It learns from batches of events the front door sends (never one Ray call per request), predicts
the cubes about to be searched (pipeline/prefetch_model.py), and pre-reads their files into the
OS page cache so the front door's load of their hot vectors, and their first lexical search, read
memory instead of disk. The front door asks it for the plan and warms those cubes' vectors; and,
for the cubes whose memories it should hold ready, for the queries predicted from each cube's
latest turns, open episodes and skills (pipeline/prefetch_queries.py), read here from the file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.prefetch_model import ActivityModel
from pipeline.prefetch_queries import predicted_queries, skill_text
from pipeline.records import Kind
from storage.cube.reader import CubeReader
from storage.paths import DataPaths

RECENT = 8  # newest memories read for the turns a session just wrote


class PrefetchStage:
    def __init__(self, data_dir: str, half_life_s: float, top: int) -> None:
        self._paths = DataPaths(Path(data_dir))
        self._model = ActivityModel(half_life_s=half_life_s)
        self._top = top
        self._read_ahead: dict[str, float] = {}  # cube -> when its files were last pre-read

    def ready(self) -> bool:
        return True

    def observe(self, events: list[tuple[str, list[str], str, float]]) -> None:
        for agent, cubes, kind, at in events:
            self._model.observe(agent, cubes, kind, at)

    def plan(self, hot: list[str]) -> list[str]:
        """Cubes predicted to be searched soon that are not hot yet; their files are pre-read now."""
        now = time.time()
        self._model.forget_below(now)
        wanted = self._model.predict(now, self._top, exclude=frozenset(hot))
        for cube in wanted:
            if now - self._read_ahead.get(cube, 0) > 60:
                self._read_ahead[cube] = now
                self._pre_read(cube)
        return wanted

    def plan_memories(self, ready: list[str]) -> list[tuple[str, list[str]]]:
        """Cubes predicted to be searched soon whose memories are not held ready (`ready`), each with
        the texts of its predicted queries."""
        now = time.time()
        wanted = self._model.predict(now, self._top, exclude=frozenset(ready))
        return [(cube, self._queries(cube)) for cube in wanted]

    def _queries(self, cube: str) -> list[str]:
        path = self._paths.cube_db(cube)
        if not path.exists():
            return []
        store = CubeReader(path)
        try:
            recent = store.list(limit=RECENT).items
            turns = [r.content for r in recent if r.kind in (Kind.MESSAGE.value, Kind.NOTE.value, Kind.TOOL_CALL.value)]
            tasks = [e["task"] for e in store.episode_rows(closed=False, limit=3)]
            skills = [skill_text(m) for m in store.skills()[-3:]]
        finally:
            store.close()
        return [q.text for q in predicted_queries(turns, tasks, skills)]

    def _pre_read(self, cube: str) -> None:
        for path in self._paths.cube_files(cube):
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)
