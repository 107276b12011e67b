"""`memos repair`: find the stored memories that cannot be read, and fix them.

A memory the cube reader cannot show (a time outside years 1-9999, a JSON column that is not
JSON, text that is not UTF-8, a value of the wrong type) is left out of every read and logged
(storage/cube/reader.py), so it never takes down a list, a search or an export. This finds each
one in the data directory and, unless asked only to look, rewrites its bad values
(storage/cube/repair.py says with what). The search indexes still hold the repaired memories as
they were indexed; `memos reindex` rebuilds them when a repaired time matters to a search filter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.errors import NotFound
from pipeline.ids import is_cube_id
from storage.cube.repair import find_damage, repair_file
from storage.paths import DataPaths

log = logging.getLogger(__name__)


def repair_cubes(
    paths: DataPaths, *, fix: bool = True, cube: str | None = None,
    progress: Callable[[str], None] = lambda cube_id: None,
) -> dict[str, Any]:
    """Every damaged memory of every cube file (or of one cube), fixed unless `fix` is false.

    `{"cubes": n, "damaged": [{"cube", "id", "reason", "fixed": [field...]}...], "fixed": k}`.
    """
    files = _cube_files(paths, cube)
    damaged: list[dict[str, Any]] = []
    for cube_id, path in files:
        found = repair_file(path) if fix else find_damage(path)
        for damage in found:
            entry = {"cube": cube_id, "id": damage.memory_id, "reason": damage.reason, "fixed": damage.fixed}
            damaged.append(entry)
            log.warning("cube %s: memory %s %s (%s)", cube_id, damage.memory_id,
                        "repaired" if fix else "cannot be read", damage.reason)
        progress(cube_id)
    return {"cubes": len(files), "damaged": damaged, "fixed": sum(1 for d in damaged if d["fixed"])}


def _cube_files(paths: DataPaths, cube: str | None) -> list[tuple[str, Path]]:
    if cube is not None:
        path = paths.cube_db(cube)  # validates the id: the only place one becomes a file name
        if not path.exists():
            raise NotFound(f"cube {cube} has no file in {paths.cubes_dir}")
        return [(cube, path)]
    if not paths.cubes_dir.exists():
        return []
    return [(p.stem, p) for p in sorted(paths.cubes_dir.glob("*.db")) if is_cube_id(p.stem)]
