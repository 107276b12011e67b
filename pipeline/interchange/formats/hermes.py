"""Hermes Agent's curated memory (NousResearch/hermes-agent `tools/memory_tool.py`): `MEMORY.md`, the
agent's notes, and `USER.md`, what it knows about the user; entries separated by a line holding
only `§`. A file, a `memories/` folder (or the Hermes home above it), or a ZIP of one.

`MEMORY.md` entries become note traces, `USER.md` entries persona traces spoken by the user, so
the server reads world facts from both. Ids come from each entry's text: re-importing an edited
file adds the edited entries and leaves the others alone. Times come from the file's mtime (the
format keeps none), one second apart, in file order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.source_files import SourceTree, head, invalid, is_zip
from pipeline.interchange.model import iso

NAME = "hermes"
PLATFORM = "hermes"
FILES = {"MEMORY.md": "note", "USER.md": "persona"}
DELIMITER = "§"


def _members(tree: SourceTree) -> list[str]:
    """The Hermes files in a tree: at its top or in one folder (an archive's wrapper), or in a
    `memories/` folder up to two levels down (a Hermes home)."""
    out = []
    for name in tree.names():
        p = PurePosixPath(name)
        if p.name in FILES and (len(p.parts) <= 2 or (p.parent.name == "memories" and len(p.parts) <= 3)):
            out.append(name)
    return out


def _delimited(path: Path) -> bool:
    """A Markdown or text file holding `§` lines and no front matter: a Hermes file under another
    name (an upload is stored under a name of the server's own)."""
    text = head(path)
    return path.suffix.casefold() in (".md", ".txt") and not text.startswith("---") and \
        any(line.strip() == DELIMITER for line in text.splitlines())


def detect(path: Path) -> bool:
    if path.is_file() and not is_zip(path):
        return path.name in FILES or _delimited(path)
    if path.is_dir() or is_zip(path):
        with SourceTree(path) as tree:
            return bool(_members(tree))
    return False


def split_entries(text: str) -> list[str]:
    """The entries of a Hermes memory file, each once, in order."""
    entries: list[str] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") + [DELIMITER]:
        if line.strip() == DELIMITER:
            entry = "\n".join(current).strip()
            if entry and entry not in entries:
                entries.append(entry)
            current = []
        else:
            current.append(line)
    return entries


def _records(file_name: str, text: str, mtime_ms: int) -> Iterator[dict[str, Any]]:
    kind = FILES.get(file_name, "note")  # under another name it cannot say it is USER.md: the agent's notes
    entries = split_entries(text)
    for i, entry in enumerate(entries):
        digest = hashlib.sha256(entry.encode()).hexdigest()[:24]
        meta: dict[str, Any] = {"hermes": {"file": file_name, "index": i}}
        if kind == "persona":
            meta["speaker"] = "user"
        created = iso(max(0, mtime_ms - (len(entries) - i) * 1000))
        yield lo.trace(f"hermes-{kind}-{digest}", kind, entry, created, PLATFORM, metadata=meta,
                       tags=["hermes", "user-profile" if kind == "persona" else "agent-notes"],
                       extraction_method="manual")


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise invalid(where, f"not UTF-8 text (byte {exc.start})") from exc


def read(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_file() and not is_zip(path):
        if path.name not in FILES and not _delimited(path):
            raise invalid(path.name, f"expected {' or '.join(FILES)}, entries separated by a {DELIMITER} line")
        yield from _records(path.name, _decode(path.read_bytes(), path.name), int(path.stat().st_mtime * 1000))
        return
    with SourceTree(path) as tree:
        names = _members(tree)
        if not names:
            raise invalid(path.name, f"no {' or '.join(FILES)} in it")
        for name in names:
            yield from _records(PurePosixPath(name).name, _decode(tree.read_bytes(name), name), tree.mtime_ms(name))
