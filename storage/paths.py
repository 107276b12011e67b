"""Where everything lives under the data directory; the only place ids become file names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import Invalid
from pipeline.ids import is_cube_id

_SHARD = re.compile(r"s[0-9]{1,4}")
_BLOB = re.compile(r"[0-9a-f]{64}(\.thumb)?")


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

    def blobs_dir(self, cube_id: str) -> Path:
        """The cube's image bytes, named by their SHA-256, beside its file (`cubes/<cube>.blobs/`)."""
        if not is_cube_id(cube_id):
            raise Invalid(f"cube id {cube_id[:80]!r} is not a valid cube id")
        return self._inside(self.cubes_dir, f"{cube_id}.blobs")

    def blob(self, cube_id: str, name: str) -> Path:
        """One blob of the cube: `<sha256>` (the bytes) or `<sha256>.thumb` (its thumbnail)."""
        if not _BLOB.fullmatch(name):
            raise Invalid(f"blob name {name[:80]!r} is not a SHA-256 in hex")
        return self._inside(self.blobs_dir(cube_id), name)

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
