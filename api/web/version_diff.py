"""Two versions of a memory side by side: which lines were removed and which added (difflib)."""

from __future__ import annotations

import difflib
from typing import Any


def diff_versions(versions: list[dict[str, Any]], a: int | None, b: int | None) -> dict[str, Any] | None:
    """The diff of version `a` to `b` (default: the one before the newest to the newest); None if either is missing."""
    by_number = {v["version"]: v for v in versions}
    numbers = sorted(by_number)
    new = b if b is not None else numbers[-1]
    old = a if a is not None else next((n for n in reversed(numbers) if n < new), numbers[0])
    if old not in by_number or new not in by_number:
        return None
    before, after = by_number[old], by_number[new]
    lines = []
    for line in difflib.ndiff(before["content"].splitlines(), after["content"].splitlines()):
        sign, text = line[:1], line[2:]
        if sign == "?":
            continue  # ndiff's intraline hints
        lines.append({"change": {"-": "removed", "+": "added"}.get(sign, "same"), "text": text})
    return {
        "a": old, "b": new, "lines": lines, "versions": numbers,
        "tags_removed": sorted(set(before["tags"]) - set(after["tags"])),
        "tags_added": sorted(set(after["tags"]) - set(before["tags"])),
        "kind": (before["kind"], after["kind"]) if before["kind"] != after["kind"] else None,
        "metadata_changed": before["metadata"] != after["metadata"],
    }
