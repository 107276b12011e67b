"""The skill record: its steps, parameter bindings and evidence, and its JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SkillStep:
    """One tool call of a skill. Values of the keys in `templated` are templates over parameters;
    every other value is a literal. A templated key in `optional` is left out when its
    parameter is not given."""

    tool: str
    arguments: Mapping[str, Any]
    templated: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "arguments": dict(self.arguments), "templated": list(self.templated),
                "optional": list(self.optional)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkillStep:
        return cls(str(data["tool"]), dict(data.get("arguments") or {}),
                   tuple(data.get("templated") or ()), tuple(data.get("optional") or ()))


@dataclass(frozen=True)
class Binding:
    """The parameter values one example episode used."""

    episode_id: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Skill:
    id: str
    version: int
    name: str
    tool_name: str  # the callable name, valid for OpenAI and MCP tool definitions
    description: str
    when_to_use: str
    steps: tuple[SkillStep, ...]
    parameters: Mapping[str, Any]  # JSON Schema of the params object
    success_rate: float
    runs: int
    successes: int
    examples: tuple[str, ...]  # successful episodes (sorted ids)
    failures: tuple[str, ...]  # failed episodes and failed runs (sorted ids)
    signature: tuple[str, ...]  # the tool names of `steps`
    bindings: tuple[Binding, ...]  # parameter values of each example whose calls shaped `steps`
    task_pattern: str | None  # "Deploy the {service} service with tag {tag}" when one fits
    example_tasks: tuple[str, ...]
    task_centroid: tuple[float, ...] | None = None
    centroid_count: int = 0

    @property
    def evidence(self) -> frozenset[str]:
        """Every episode or run id already counted; counting one again changes nothing."""
        return frozenset(self.examples) | frozenset(self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "version": self.version, "name": self.name, "tool_name": self.tool_name,
            "description": self.description, "when_to_use": self.when_to_use,
            "steps": [s.to_dict() for s in self.steps], "parameters": self.parameters,
            "success_rate": self.success_rate, "runs": self.runs, "successes": self.successes,
            "examples": list(self.examples), "failures": list(self.failures),
            "signature": list(self.signature),
            "bindings": [{"episode_id": b.episode_id, "params": dict(b.params)} for b in self.bindings],
            "task_pattern": self.task_pattern, "example_tasks": list(self.example_tasks),
            "task_centroid": None if self.task_centroid is None else list(self.task_centroid),
            "centroid_count": self.centroid_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Skill:
        centroid = data.get("task_centroid")
        return cls(
            id=str(data["id"]), version=int(data["version"]), name=str(data["name"]),
            tool_name=str(data["tool_name"]), description=str(data["description"]),
            when_to_use=str(data["when_to_use"]),
            steps=tuple(SkillStep.from_dict(s) for s in data["steps"]),
            parameters=data["parameters"], success_rate=float(data["success_rate"]),
            runs=int(data["runs"]), successes=int(data["successes"]),
            examples=tuple(data["examples"]), failures=tuple(data["failures"]),
            signature=tuple(data["signature"]),
            bindings=tuple(Binding(b["episode_id"], dict(b["params"])) for b in data["bindings"]),
            task_pattern=data.get("task_pattern"), example_tasks=tuple(data.get("example_tasks") or ()),
            task_centroid=None if centroid is None else tuple(float(x) for x in centroid),
            centroid_count=int(data.get("centroid_count") or 0),
        )
