"""Image bytes, content-addressed, beside each cube's file: `cubes/<cube>.blobs/<sha256>` (+ `.thumb`).

A blob is durable before the write that names it is acknowledged: written to a temporary file,
fsynced, renamed into place and the folder fsynced, the same promise the intake log's
`synchronous=FULL` commit makes for the rest of the write. The same bytes twice are one file.
Names are validated by storage/paths.py; nothing here builds a path from client input.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import StoreError
from storage.disk_space import full_disk, is_disk_full
from storage.paths import DataPaths

THUMB = ".thumb"


class BlobStore:
    def __init__(self, paths: DataPaths) -> None:
        self._paths = paths

    def put(self, cube_id: str, sha256: str, data: bytes, thumbnail: bytes) -> bool:
        """Store the bytes and their thumbnail durably; False when the cube already held them."""
        target = self._paths.blob(cube_id, sha256)
        thumb = self._paths.blob(cube_id, sha256 + THUMB)
        if target.exists() and thumb.exists():
            os.utime(target)  # fresh again: a sweep of unreferenced blobs leaves a blob being written alone
            return False
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _durable_write(thumb, thumbnail)
            _durable_write(target, data)
            _sync_dir(folder)
        except OSError as exc:
            if is_disk_full(exc):
                raise full_disk(f"image blob of cube {cube_id}") from exc
            raise StoreError(f"image blob of cube {cube_id}: {exc}") from exc
        return True

    def read(self, cube_id: str, sha256: str) -> bytes | None:
        return _read(self._paths.blob(cube_id, sha256))

    def read_thumbnail(self, cube_id: str, sha256: str) -> bytes | None:
        return _read(self._paths.blob(cube_id, sha256 + THUMB))

    def hashes(self, cube_id: str) -> dict[str, float]:
        """Every blob the cube holds, with the time it was last written."""
        folder = self._paths.blobs_dir(cube_id)
        if not folder.is_dir():
            return {}
        out: dict[str, float] = {}
        for entry in os.scandir(folder):
            name = entry.name
            if len(name) == 64 and entry.is_file():
                out[name] = entry.stat().st_mtime
        return out

    def remove(self, cube_id: str, hashes: Iterable[str]) -> int:
        """Delete these blobs and their thumbnails; how many were there."""
        removed = 0
        for sha in hashes:
            for name in (sha, sha + THUMB):
                try:
                    self._paths.blob(cube_id, name).unlink()
                    removed += name == sha
                except FileNotFoundError:
                    pass
        return removed

    def remove_all(self, cube_id: str) -> None:
        """The cube's whole blob folder (the cube itself is being deleted)."""
        folder = self._paths.blobs_dir(cube_id)
        if folder.is_dir():
            for entry in os.scandir(folder):
                Path(entry.path).unlink(missing_ok=True)
            folder.rmdir()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _durable_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}.tmp")
    try:
        with tmp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
