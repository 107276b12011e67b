"""Episodes as the skill and summary logic sees them: a task, an outcome and ordered traces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ToolCall:
    """One tool call as a client reported it: `"tool": {"name", "arguments", "result", "status"}`."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    result: str | None = None
    status: str | None = None  # the client's word: "ok", "error", "success", ...
    duration_ms: int | None = None

    @property
    def failed(self) -> bool:
        return (self.status or "").casefold() in FAILED_STATUSES


FAILED_STATUSES = frozenset({"error", "failed", "failure", "fail", "timeout", "cancelled", "crashed"})


@dataclass(frozen=True)
class EpisodeTrace:
    """One trace of an episode: a message, or a tool call (`tool` set), in the order they happened."""

    id: str
    kind: str  # message | tool_call | image | persona
    text: str = ""
    tool: ToolCall | None = None
    speaker: str | None = None
    time_ms: int = 0


@dataclass(frozen=True, eq=False)
class Episode:
    """A closed episode. `task_vector` (unit length) is the caller's embedding of `task`."""

    id: str
    task: str
    outcome: Outcome
    traces: tuple[EpisodeTrace, ...] = ()
    task_vector: np.ndarray | None = None
    closed_at: int = 0

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(t.tool for t in self.traces if t.tool is not None)

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.tool_calls)

    @property
    def trace_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.traces)
