"""The prefetch actor: watches session activity and prepares the cubes the next queries will need.

It learns from batches of events the front door sends (never one Ray call per request), predicts
the cubes about to be searched (pipeline/prefetch_model.py), and pre-reads their files into the
OS page cache so the front door's load of their hot vectors, and their first lexical search, read
memory instead of disk. The front door asks it for the plan and warms those cubes' vectors.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.prefetch_model import ActivityModel
from storage.paths import DataPaths


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
