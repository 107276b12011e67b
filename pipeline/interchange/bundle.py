"""Checking a stream of interchange objects, whatever container it came from (pure).

`checked` validates each object against the model (pipeline/interchange/model.py) and the order
the model prescribes (a vector, version or feedback event right after its memory, an episode's
vector right after it), and yields the objects as the import uses them: plain dicts, unknown
fields dropped when the bundle is of a newer minor version. A LineError names where the first
problem is; since the whole bundle is checked before anything is written, an invalid bundle
writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.interchange.model import LineError, strip_unknown, validate_line

_BELONGS = ("vector", "version", "skill_version", "feedback")


class OrderCheck:
    """Remembers the last memory and episode, which is all the order rules need."""

    def __init__(self) -> None:
        self.memory: tuple[str, str] | None = None  # (id, tier)
        self.episode: str | None = None

    def see(self, obj: dict[str, Any], where: int | str) -> None:
        kind = obj["object"]
        if kind == "memory":
            self.memory, self.episode = (obj["id"], obj["tier"]), None
        elif kind == "episode":
            self.episode, self.memory = obj["id"], None
        elif kind == "vector" and obj.get("episode_id") is not None:
            if obj["episode_id"] != self.episode:
                raise LineError(where, "episode_id", f"the vector of episode {obj['episode_id']} must come right "
                                "after that episode")
        elif kind in _BELONGS:
            if obj.get("memory_id") is None:
                raise LineError(where, "memory_id", "is required")
            if self.memory is None or obj["memory_id"] != self.memory[0]:
                raise LineError(where, "memory_id", f"a {kind} of memory {obj['memory_id']} must come right after "
                                "that memory (and its other vectors, versions and feedback)")
            tier = self.memory[1]
            if kind == "skill_version" and tier != "skill":
                raise LineError(where, "object", "a skill_version belongs to a skill memory; use version")
            if kind == "version" and tier == "skill":
                raise LineError(where, "object", "an earlier version of a skill is a skill_version")
        elif kind == "link":
            self.memory = self.episode = None


def checked(objects: Iterable[tuple[int | str, Any]], *, lenient: bool = False) -> Iterator[dict[str, Any]]:
    """(where, object) pairs, validated; header and manifest objects are the container's business."""
    order = OrderCheck()
    for where, data in objects:
        model = validate_line(data, where, lenient=lenient)
        kind = model.object  # type: ignore[attr-defined]
        if kind in ("header", "manifest"):
            raise LineError(where, "object", f"a {kind} belongs at the {'start' if kind == 'header' else 'end'} "
                            "of a .memos.jsonl only")
        obj = strip_unknown(type(model), data) if lenient else data
        if kind == "vector" and len(obj["vector"]) != obj["dimensions"]:
            raise LineError(where, "vector", f"has {len(obj['vector'])} values, dimensions says {obj['dimensions']}")
        order.see(obj, where)
        yield obj
