"""Where everything lives under the data directory; the only place ids become file names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import Invalid
from pipeline.ids import is_cube_id

_SHARD = re.compile(r"s[0-9]{1,4}")


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @property
    def intake_db(self) -> Path:
        return self.root / "intake.db"

    @property
    def registry_db(self) -> Path:
        return self.root / "registry.db"

    @property
    def cubes_dir(self) -> Path:
        return self.root / "cubes"

    @property
    def shards_dir(self) -> Path:
        return self.root / "shards"

    def ensure(self) -> None:
        for path in (self.root, self.cubes_dir, self.shards_dir):
            path.mkdir(parents=True, exist_ok=True)

    def cube_db(self, cube_id: str) -> Path:
        if not is_cube_id(cube_id):
            raise Invalid(f"cube id {cube_id[:80]!r} is not a valid cube id")
        return self._inside(self.cubes_dir, f"{cube_id}.db")

    def cube_files(self, cube_id: str) -> list[Path]:
        """The cube's database and its WAL and shared-memory companions."""
        db = self.cube_db(cube_id)
        return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]

    def shard_dir(self, shard: str) -> Path:
        if not _SHARD.fullmatch(shard):
            raise Invalid(f"shard {shard[:20]!r} is not a valid shard id")
        return self._inside(self.shards_dir, shard)

    def vectors_dir(self, shard: str) -> Path:
        return self.shard_dir(shard) / "vectors"

    def lexical_dir(self, shard: str) -> Path:
        return self.shard_dir(shard) / "lexical"

    @staticmethod
    def _inside(parent: Path, name: str) -> Path:
        # Belt and braces: the patterns above already exclude separators and dots.
        path = (parent / name).resolve()
        if path.parent != parent.resolve():
            raise Invalid(f"{name[:80]!r} would leave the data directory")
        return path


def shard_id(number: int) -> str:
    return f"s{number}"
