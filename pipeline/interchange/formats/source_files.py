"""Reading a source the same way whether it is one file, a directory, or a ZIP of either.

Members are opened as binary streams (never extracted whole), ZIP member names are taken as
relative POSIX paths and checked, so nothing from an archive names a path outside it.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from pipeline.errors import Invalid

SNIFF_BYTES = 1 << 16


def invalid(where: str, problem: str) -> Invalid:
    """The one error a reader raises for a source it cannot read: where, then what is wrong."""
    return Invalid(f"{where}: {problem}")


def is_zip(path: Path) -> bool:
    return path.is_file() and zipfile.is_zipfile(path)


def head(path: Path, size: int = SNIFF_BYTES) -> str:
    """The start of a file as text (for sniffing its format); '' when it cannot be read."""
    try:
        with path.open("rb") as f:
            return f.read(size).decode("utf-8", errors="replace").lstrip("\ufeff")
    except OSError:
        return ""


def _safe_member(name: str) -> str | None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if name.endswith("/") or pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return None
    return pure.as_posix()


class SourceTree:
    """The files of a directory or a ZIP archive, by relative POSIX path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}  # relative path -> member name (ZIP) or the same path
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    rel = p.relative_to(path).as_posix()
                    self._names[rel] = rel
        elif is_zip(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise invalid(path.name, f"not a readable ZIP archive ({exc})") from exc
            for info in self._zip.infolist():
                rel = _safe_member(info.filename)
                if rel is not None and not info.is_dir():
                    self._names[rel] = info.filename
        else:
            raise invalid(path.name, "expected a directory or a ZIP archive")

    def __enter__(self) -> SourceTree:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def names(self) -> list[str]:
        return sorted(self._names)

    def find(self, file_name: str) -> str | None:
        """The shallowest member called `file_name` (an archive may wrap everything in one folder)."""
        hits = [n for n in self._names if PurePosixPath(n).name == file_name]
        return min(hits, key=lambda n: (n.count("/"), n)) if hits else None

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        member = self._names.get(name)
        if member is None:
            raise invalid(self.path.name, f"{name} is missing")
        if self._zip is not None:
            with self._zip.open(member) as f:
                yield f
        else:
            with (self.path / member).open("rb") as f:
                yield f

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def mtime_ms(self, name: str) -> int:
        member = self._names[name]
        if self._zip is not None:
            y, mo, d, h, mi, s = self._zip.getinfo(member).date_time
            return int(datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp() * 1000)
        return int((self.path / member).stat().st_mtime * 1000)

    @contextmanager
    def local_file(self, name: str) -> Iterator[Path]:
        """A path on disk holding the member (a temporary copy when it lives in a ZIP): for engines
        that need a real file, such as SQLite."""
        if self._zip is None:
            yield self.path / self._names[name]
            return
        with tempfile.TemporaryDirectory(prefix="memos-import-") as tmp:
            target = Path(tmp) / PurePosixPath(name).name
            with self.open(name) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            yield target
