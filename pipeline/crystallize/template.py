"""Templates: which arguments of example calls vary, what they are called, how to fill them in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.crystallize.skill import Binding, Skill, SkillStep

MAX_SCHEMA_EXAMPLES = 5
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MISSING = object()  # an argument an example did not pass


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def calls_of_binding(skill: Skill, binding: Binding) -> list[tuple[str, dict[str, Any]]]:
    return [(s["tool"], s["arguments"]) for s in fill_steps(skill.steps, binding.params)]


@dataclass
class _Slot:
    """One varying argument: (step, key) and its value in each example (maybe missing)."""

    step: int
    key: str
    values: list[Any]
    param: str | None = None
    template: str | None = None  # set when the value is built from other parameters

    @property
    def complete(self) -> bool:
        return all(v is not _MISSING for v in self.values)


def learn_template(
    signature: tuple[str, ...], examples: Sequence[tuple[str, Sequence[tuple[str, Mapping[str, Any]]]]]
) -> tuple[tuple[SkillStep, ...], dict[str, Any], tuple[Binding, ...]]:
    """Steps, parameter schema and per-example bindings from example calls of one tool sequence."""
    examples = sorted(examples, key=lambda e: e[0])
    if not examples:
        steps = tuple(SkillStep(tool, {}) for tool in signature)
        return steps, _schema([], {}), ()
    literals: list[dict[str, Any]] = [{} for _ in signature]
    slots: list[_Slot] = []
    for i, _tool in enumerate(signature):
        keys = sorted({k for _, calls in examples for k in calls[i][1]})
        for key in keys:
            values = [calls[i][1].get(key, _MISSING) for _, calls in examples]
            first = values[0]
            if first is not _MISSING and all(v is not _MISSING and canon(v) == canon(first) for v in values):
                literals[i][key] = first
            else:
                slots.append(_Slot(i, key, values))
    params = _assign_params(slots, signature)
    steps = []
    for i, tool in enumerate(signature):
        arguments = dict(literals[i])
        templated, optional = [], []
        for slot in (s for s in slots if s.step == i):
            arguments[slot.key] = slot.template if slot.template is not None else "{" + str(slot.param) + "}"
            templated.append(slot.key)
            if not slot.complete:
                optional.append(slot.key)
        steps.append(SkillStep(tool, dict(sorted(arguments.items())), tuple(sorted(templated)), tuple(sorted(optional))))
    bindings = tuple(
        Binding(episode_id, {name: params[name][j] for name in sorted(params) if params[name][j] is not _MISSING})
        for j, (episode_id, _) in enumerate(examples)
    )
    return tuple(steps), _schema(slots, params), bindings


def _assign_params(slots: list[_Slot], signature: tuple[str, ...]) -> dict[str, list[Any]]:
    """Name the independent parameters; a slot whose values equal a parameter's in every example
    reuses it, and a string slot built from parameters' values becomes a template."""
    params: dict[str, list[Any]] = {}
    by_values: dict[str, str] = {}

    def order(slot: _Slot) -> tuple:
        lengths = [len(canon(v)) for v in slot.values if v is not _MISSING]
        return (sum(lengths) / max(len(lengths), 1), slot.step, slot.key)

    for slot in sorted(slots, key=order):
        key = "\x1f".join("\x00" if v is _MISSING else canon(v) for v in slot.values)
        if key in by_values:
            slot.param = by_values[key]
            continue
        template = _as_template(slot, params) if slot.complete else None
        if template is not None:
            slot.template = template
            continue
        name = _param_name(slot, signature, params)
        params[name] = slot.values
        by_values[key] = name
        slot.param = name
    return params


def _as_template(slot: _Slot, params: Mapping[str, list[Any]]) -> str | None:
    if not all(isinstance(v, str) for v in slot.values):
        return None
    template: str | None = None
    for j, value in enumerate(slot.values):
        parts = {}
        for name, values in params.items():
            v = values[j]
            if v is _MISSING or isinstance(v, (dict, list, bool)) or len(str(v)) < 2:
                continue
            parts.setdefault(str(v), name)
        if not parts:
            return None
        pattern = re.compile("|".join(re.escape(p) for p in sorted(parts, key=lambda p: (-len(p), p))))
        filled = pattern.sub(lambda m: "{" + parts[m.group(0)] + "}", value.replace("{", "{{").replace("}", "}}"))
        if template is None:
            template = filled
        elif filled != template:
            return None
    if template is None or not _PLACEHOLDER.search(template.replace("{{", "").replace("}}", "")):
        return None
    return template


def _param_name(slot: _Slot, signature: tuple[str, ...], taken: Mapping[str, Any]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", slot.key).strip("_") or "value"
    if base[0].isdigit():
        base = f"p_{base}"
    if base not in taken:
        return base
    tool = re.sub(r"[^A-Za-z0-9_]", "_", signature[slot.step]).strip("_") or f"step{slot.step + 1}"
    name = f"{tool}_{base}"
    k = 2
    while name in taken:
        name, k = f"{tool}_{base}_{k}", k + 1
    return name


def _json_type(values: Iterable[Any]) -> str | list[str]:
    types = set()
    for v in values:
        if isinstance(v, bool):
            types.add("boolean")
        elif isinstance(v, int):
            types.add("integer")
        elif isinstance(v, float):
            types.add("number")
        elif isinstance(v, str):
            types.add("string")
        elif isinstance(v, list):
            types.add("array")
        elif isinstance(v, dict):
            types.add("object")
        elif v is None:
            types.add("null")
    if types == {"integer", "number"}:
        return "number"
    return types.pop() if len(types) == 1 else sorted(types)


def _schema(slots: Sequence[_Slot], params: Mapping[str, list[Any]]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for name in sorted(params):
        present = [v for v in params[name] if v is not _MISSING]
        uses = sorted({f"`{s.key}` of step {s.step + 1}" for s in slots
                       if s.param == name or (s.template is not None and "{" + name + "}" in s.template)},
                      key=lambda u: (int(u.rsplit(" ", 1)[1]), u))
        examples, seen = [], set()
        for v in present:
            if canon(v) not in seen and len(examples) < MAX_SCHEMA_EXAMPLES:
                seen.add(canon(v))
                examples.append(v)
        properties[name] = {"type": _json_type(present), "description": "Used as " + ", ".join(uses) + ".",
                            "examples": examples}
        if len(present) == len(params[name]):
            required.append(name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _fill(template: str, params: Mapping[str, Any]) -> Any:
    whole = _PLACEHOLDER.fullmatch(template)
    if whole is not None:
        return params[whole.group(1)]  # a whole-value parameter keeps its JSON type
    filled = _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), template)
    return filled.replace("{{", "{").replace("}}", "}")


def fill_steps(steps: Sequence[SkillStep], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for step in steps:
        arguments: dict[str, Any] = {}
        for key, value in step.arguments.items():
            if key not in step.templated:
                arguments[key] = value
                continue
            needed = _PLACEHOLDER.findall(str(value))
            if key in step.optional and any(n not in params for n in needed):
                continue
            arguments[key] = _fill(str(value), params)
        out.append({"tool": step.tool, "arguments": arguments})
    return out


def learn_task_pattern(skill: Skill, bindings: Sequence[Binding], tasks_by_id: Mapping[str, str]) -> str | None:
    """The task text with parameter values replaced by placeholders, when all examples agree.

    Old examples' tasks are represented by the previous version's pattern; once the examples
    disagree the pattern is gone for good (None after version 1 means "none fits").
    """
    patterns = set() if skill.version == 0 or skill.task_pattern is None else {skill.task_pattern}
    if skill.version > 0 and skill.task_pattern is None:
        return None
    for binding in bindings:
        task = tasks_by_id.get(binding.episode_id)
        if task is None:
            continue
        template = _as_template(_Slot(0, "task", [task]), {k: [v] for k, v in binding.params.items()})
        if template is None:
            return None
        patterns.add(template)
    return patterns.pop() if len(patterns) == 1 else None
