"""Other systems' memory formats: one module per format behind one interface, and the registry
that names them and tells them apart (`memos import FILE --format auto`).

A format module has:

    NAME: str                                   the name `--format` takes
    detect(path: Path) -> bool                  whether `path` (a file, a directory or a ZIP) is in it
    read(path: Path) -> Iterator[dict]          interchange v1 objects (pipeline/interchange/model.py)
    write(objects: Iterable[dict], path) -> int  optional: an export of ours in that format; records written

Modules are pure: they read and write files, never a store. `detect` only sniffs (the first
bytes of a file, the names in a directory or ZIP); `read` streams where a source can be big.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from pipeline.errors import UnknownFormat
from pipeline.interchange.formats import (
    basic_memory,
    chatgpt,
    claude,
    hermes,
    letta,
    mem0,
    memos_plugin,
    openclaw,
    pam,
)

Reader = Callable[[Path], Iterator[dict[str, Any]]]
Writer = Callable[[Iterable[dict[str, Any]], Path], int]

# Detection order: the formats that name themselves in the file first, the loosest (a folder of
# Markdown) last, so a file is claimed by the format that recognises it most surely.
MODULES: tuple[ModuleType, ...] = (pam, memos_plugin, letta, mem0, chatgpt, claude, openclaw, hermes, basic_memory)
NAMES: tuple[str, ...] = tuple(m.NAME for m in MODULES)
EXPORT_NAMES: tuple[str, ...] = tuple(m.NAME for m in MODULES if hasattr(m, "write"))
_BY_NAME = {m.NAME: m for m in MODULES}


def detect(path: Path) -> str:
    """The name of the format `path` is in; UnknownFormat when it is in none of them."""
    if not path.exists():
        raise UnknownFormat(f"{path.name}: no such file or directory")
    for module in MODULES:
        try:
            if module.detect(path):
                return module.NAME
        except (OSError, UnicodeError, ValueError):
            continue  # a file this format cannot even open is not in this format
    raise UnknownFormat(f"{path.name}: not in any format this server imports ({', '.join(NAMES)}); "
                        f"name one with --format")


def _module(name: str) -> ModuleType:
    module = _BY_NAME.get(name)
    if module is None:
        raise UnknownFormat(f"format {name[:40]!r} is not one of {', '.join(NAMES)}")
    return module


def reader(name: str) -> Reader:
    return _module(name).read


def writer(name: str) -> Writer:
    module = _module(name)
    if not hasattr(module, "write"):
        raise UnknownFormat(f"format {name!r} can be imported but not exported; exports: {', '.join(EXPORT_NAMES)}")
    return module.write
