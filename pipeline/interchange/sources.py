"""Where an import's objects come from: our containers, a table of rows, or another system's format.

`open_source(path, format)` names the format (`auto` detects it: our own containers first, then
the other systems' formats, pipeline/interchange/formats) and gives a Source, which can be read
any number of times: the import reads it once to check everything and once more to write, so an
invalid file writes nothing, and neither pass holds more than one batch in memory.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from pipeline.errors import UnknownFormat
from pipeline.import_rows import BadRow, is_export_row, row_object, row_vector
from pipeline.interchange import formats
from pipeline.interchange.bundle import checked
from pipeline.interchange.jsonl import JsonlBundle, bare_objects
from pipeline.interchange.model import DATA_TYPES, LineError
from pipeline.interchange.plan import Mode
from pipeline.interchange.vault import VaultBundle
from pipeline.interchange.zip_bundle import MANIFEST, OBJECTS, ZipBundle, ZipImages

MEMOS = "memos"  # .memos.jsonl or .memos.zip
MARKDOWN = "markdown"  # the vault, a folder or a ZIP
ROWS = "rows"  # JSON lines or Parquet rows with `content` (our old export among them)
OWN_FORMATS = (MEMOS, MARKDOWN, ROWS)
_VAULT_ROOTS = ("episodes/", "trace/", "world/", "skill/")


@dataclass
class Source:
    """A format's objects, re-readable; `mode` says how they are written (plan.Mode)."""

    format: str
    mode: Mode
    read: Callable[[], Iterator[dict[str, Any]]]
    header: dict[str, Any] = field(default_factory=dict)
    # An image memory's bytes by SHA-256 (a ZIP bundle's `images/`); other sources carry none.
    image: Callable[[str], bytes | None] = lambda sha256: None


def _first_line(path: Path) -> bytes:
    with path.open("rb") as f:
        for raw in f:
            if raw.strip():
                return raw
    return b""


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except zipfile.BadZipFile:
        return []


def _is_vault_names(names: list[str]) -> bool:
    """Markdown files under the vault's folders (at the top, or under one folder such as `vault/`)."""
    return any(n.endswith(".md") and (n.startswith(_VAULT_ROOTS) or n.split("/", 1)[-1].startswith(_VAULT_ROOTS))
               for n in names)


def detect_own(path: Path) -> str | None:
    """MEMOS, MARKDOWN or ROWS when `path` is in one of our own formats, else None."""
    if path.is_dir():
        names = [str(p.relative_to(path)) for p in path.rglob("*.md")]
        manifest = path / MANIFEST
        if manifest.is_file() and b"memos-interchange" in manifest.read_bytes()[:4096]:
            return MARKDOWN
        return MARKDOWN if _is_vault_names(names) else None
    if not path.is_file():
        return None
    if zipfile.is_zipfile(path):
        names = _zip_names(path)
        if MANIFEST in names and OBJECTS in names:
            return MEMOS
        return MARKDOWN if _is_vault_names(names) else None
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return ROWS
    first = _first_line(path)
    try:
        head = orjson.loads(first) if first else None
    except orjson.JSONDecodeError:
        return None
    if isinstance(head, dict) and (head.get("object") == "header" or head.get("object") in DATA_TYPES):
        return MEMOS
    if isinstance(head, dict) and "content" in head and "object" not in head and suffix in (".jsonl", ".ndjson"):
        return ROWS
    return None


def detect(path: Path) -> str:
    """Our own formats first (they name themselves), then the other systems' registry."""
    return detect_own(path) or formats.detect(path)


def open_source(path: Path, fmt: str, now: int) -> Source:
    """The source for `path` in `fmt` (`auto`: detected). UnknownFormat when it is in no format we read."""
    if not path.exists():
        raise UnknownFormat(f"{path.name}: no such file or directory")
    name = detect(path) if fmt == "auto" else fmt
    if name == MEMOS:
        return _memos(path)
    if name == MARKDOWN:
        return Source(MARKDOWN, Mode.RESTORE, lambda: iter(VaultBundle(path, now)), VaultBundle(path, now).header)
    if name == ROWS:
        return _rows(path, now)
    read = formats.reader(name)
    return Source(name, Mode.LIVE, lambda: checked(((f"object {n}", obj) for n, obj in enumerate(read(path), 1))))


def _starts_with_header(path: Path) -> bool:
    try:
        head = orjson.loads(_first_line(path) or b"null")
    except orjson.JSONDecodeError:
        return True  # let the bundle reader say what is wrong with the line
    return not isinstance(head, dict) or head.get("object") == "header" or "object" not in head


def _memos(path: Path) -> Source:
    if zipfile.is_zipfile(path):
        header = ZipBundle(path).header
        return Source(MEMOS, Mode.RESTORE, lambda: iter(ZipBundle(path)), header, ZipImages(path))

    if not _starts_with_header(path):  # objects without header and manifest
        def bare() -> Iterator[dict[str, Any]]:
            with path.open("rb") as f:
                yield from bare_objects(f)

        return Source(MEMOS, Mode.RESTORE, bare)

    def read() -> Iterator[dict[str, Any]]:
        with path.open("rb") as f:
            yield from JsonlBundle(f)

    with path.open("rb") as f:
        header = JsonlBundle(f).header
    return Source(MEMOS, Mode.RESTORE, read, header)


# --- tables of rows ------------------------------------------------------------------------------


def table_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) of a JSON lines or Parquet file; JSON rows stay as written (no schema is
    inferred across rows, so one row's metadata keys never appear in another's)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=2_000):
            for row in batch.to_pylist():
                n += 1
                yield n, row
        return
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise LineError(n, "", f"not valid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise LineError(n, "", "a row must be a JSON object")
            yield n, row


def _rows(path: Path, now: int) -> Source:
    first = next(iter(table_rows(path)), None)
    mode = Mode.RESTORE if first is not None and is_export_row(first[1]) else Mode.LIVE

    def objects() -> Iterator[tuple[int, dict[str, Any]]]:
        for n, row in table_rows(path):
            try:
                memory = row_object(row, now)
                vector = row_vector(row, memory["id"])
            except BadRow as exc:
                field_name = str(exc).split(" ", 1)[0]
                raise LineError(n, field_name, str(exc)) from None
            yield n, memory
            if vector is not None:  # right after its memory, as in a bundle
                yield n, vector

    return Source(ROWS, mode, lambda: checked(objects()))
