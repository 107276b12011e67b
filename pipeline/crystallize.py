"""Crystallize: repeated successful tool-call episodes become a named, versioned, callable skill.

Episodes of the same kind of task (similar task text) that used a similar sequence of tools
form a group; a group with at least `min_support` successes becomes a skill whose steps are the
group's most common tool sequence, with every argument that varied across the examples turned
into a `{param}` placeholder (and string arguments built from other parameters, such as an image
name `registry/{service}:{tag}`, into templates). New evidence makes a new version; failures
count as runs and lower the success rate. Everything here is pure and deterministic.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from pipeline.episodes import Episode, Outcome
from pipeline.errors import InvalidParams

MAX_EXAMPLE_TASKS = 20  # task texts kept on a skill, for when_to_use and vector-free matching
MAX_SCHEMA_EXAMPLES = 5
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WORD = re.compile(r"[a-z][a-z0-9_'-]*")
_STOPWORDS = frozenset(
    "a an the to of for in on at by with and or from into via as is are be it this that its our "
    "my your please using use then new".split()
)


@dataclass(frozen=True)
class CrystallizeConfig:
    """Thresholds of grouping; see docs/tiers.md for how they were chosen."""

    min_support: int = 3  # successful episodes a group needs to become a skill
    task_cosine: float = 0.35  # task-vector cosine for "the same kind of task"
    task_overlap: float = 0.3  # word Jaccard, when either episode has no task vector
    sequence_similarity: float = 0.75  # 2·LCS / (|a| + |b|) over tool names
    failure_coverage: float = 0.6  # share of a failed run's calls found, in order, in the skill

    def __post_init__(self) -> None:
        if self.min_support < 1:
            raise ValueError("min_support must be at least 1")
        for name in ("task_cosine", "task_overlap", "sequence_similarity", "failure_coverage"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")


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


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"


@dataclass(frozen=True)
class SkillChange:
    """A skill to store: a new skill (version 1) or a new version of an existing one."""

    kind: ChangeKind
    skill: Skill
    episode_ids: tuple[str, ...]  # the episodes that caused it


@dataclass(frozen=True)
class RenderedSkill:
    markdown: str
    steps: tuple[dict[str, Any], ...]  # [{"tool": ..., "arguments": {...}}] with params filled in


@dataclass(frozen=True)
class ToolDefinitions:
    openai: dict[str, Any]  # {"type": "function", "function": {name, description, parameters}}
    mcp: dict[str, Any]  # {"name", "description", "inputSchema"}


# ---------------------------------------------------------------------------------------------
# Similarity


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def sequence_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """2·LCS / (|a| + |b|): 1 for the same tool sequence, lower for each call added or missing."""
    if not a and not b:
        return 1.0
    return 2 * lcs_length(a, b) / (len(a) + len(b))


def task_words(text: str) -> frozenset[str]:
    """Content words of a task; words with digits are dropped (versions, ids, counts vary)."""
    return frozenset(w for w in _WORD.findall(text.casefold()) if w not in _STOPWORDS and not any(
        ch.isdigit() for ch in w))


def word_overlap(a: str, b: str) -> float:
    wa, wb = task_words(a), task_words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))


def same_kind_of_task(a: Episode, b: Episode, config: CrystallizeConfig) -> bool:
    if a.task_vector is not None and b.task_vector is not None:
        return _cosine(a.task_vector, b.task_vector) >= config.task_cosine
    return word_overlap(a.task, b.task) >= config.task_overlap


def _episode_fits_skill(episode: Episode, skill: Skill, config: CrystallizeConfig) -> float | None:
    """How well an episode fits a skill (higher is better), or None when it does not."""
    if episode.task_vector is not None and skill.task_centroid is not None:
        task = _cosine(episode.task_vector, np.asarray(skill.task_centroid))
        task_ok = task >= config.task_cosine
    else:
        task = max((word_overlap(episode.task, t) for t in skill.example_tasks), default=0.0)
        task_ok = task >= config.task_overlap
    if not task_ok or not episode.tool_names:
        return None
    if episode.outcome is Outcome.FAILURE:
        # A failed run often stops early: enough that what it did is part of the skill's steps.
        fit = lcs_length(episode.tool_names, skill.signature) / len(episode.tool_names)
        return task + fit if fit >= config.failure_coverage else None
    seq = sequence_similarity(episode.tool_names, skill.signature)
    return task + seq if seq >= config.sequence_similarity else None


# ---------------------------------------------------------------------------------------------
# Crystallize


def crystallize(
    episodes: Sequence[Episode], skills: Sequence[Skill] = (), config: CrystallizeConfig | None = None
) -> list[SkillChange]:
    """New skills and new versions that `episodes` (closed, in any order) give rise to.

    Episodes already counted by a skill are skipped, so passing the same episodes again yields
    no change. Each remaining episode with a known outcome joins the best-fitting existing
    skill; the rest are grouped, and a group with `min_support` successes becomes a new skill.
    Failed episodes that fit a new group count as its failed runs.
    """
    config = config or CrystallizeConfig()
    counted = frozenset().union(*(s.evidence for s in skills)) if skills else frozenset()
    pending = sorted(
        (e for e in episodes if e.id not in counted and e.outcome is not Outcome.UNKNOWN and e.tool_calls),
        key=lambda e: (e.closed_at, e.id),
    )
    by_skill: dict[str, list[Episode]] = {}
    loose: list[Episode] = []
    ordered_skills = sorted(skills, key=lambda s: s.id)
    for episode in pending:
        fits = [(fit, s.id) for s in ordered_skills if (fit := _episode_fits_skill(episode, s, config)) is not None]
        if fits:
            best = max(fits, key=lambda f: (f[0], f[1]))[1]
            by_skill.setdefault(best, []).append(episode)
        else:
            loose.append(episode)
    changes: list[SkillChange] = []
    for skill in ordered_skills:
        if skill.id in by_skill:
            updated = update_skill(skill, by_skill[skill.id])
            if updated is not None:
                changes.append(SkillChange(ChangeKind.UPDATED, updated,
                                           tuple(sorted(e.id for e in by_skill[skill.id]))))
    for group in group_episodes(loose, config):
        successes = [e for e in group if e.outcome is Outcome.SUCCESS]
        if len(successes) >= config.min_support:
            skill = build_skill(group)
            changes.append(SkillChange(ChangeKind.CREATED, skill, tuple(sorted(e.id for e in group))))
    return changes


def group_episodes(episodes: Sequence[Episode], config: CrystallizeConfig) -> list[list[Episode]]:
    """Groups of successful episodes linked by (same kind of task and similar tool sequence),
    transitively; each failed episode joins the group it fits best. Deterministic."""
    successes = sorted((e for e in episodes if e.outcome is Outcome.SUCCESS and e.tool_calls), key=lambda e: e.id)
    parent = list(range(len(successes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(successes):
        for j in range(i + 1, len(successes)):
            b = successes[j]
            if sequence_similarity(a.tool_names, b.tool_names) >= config.sequence_similarity and \
                    same_kind_of_task(a, b, config):
                parent[root(j)] = root(i)
    groups: dict[int, list[Episode]] = {}
    for i, episode in enumerate(successes):
        groups.setdefault(root(i), []).append(episode)
    ordered = sorted(groups.values(), key=lambda g: g[0].id)
    failures = sorted((e for e in episodes if e.outcome is Outcome.FAILURE and e.tool_calls), key=lambda e: e.id)
    for failed in failures:
        best: tuple[float, int] | None = None
        for k, group in enumerate(ordered):
            signature = consensus_signature(group)
            fit = lcs_length(failed.tool_names, signature) / len(failed.tool_names)
            if fit >= config.failure_coverage and any(same_kind_of_task(failed, e, config) for e in group):
                if best is None or fit > best[0]:
                    best = (fit, k)
        if best is not None:
            ordered[best[1]].append(failed)
    return ordered


def consensus_signature(group: Sequence[Episode]) -> tuple[str, ...]:
    """The most common tool sequence among a group's successes (ties: the earliest episode's)."""
    successes = sorted((e for e in group if e.outcome is Outcome.SUCCESS), key=lambda e: e.id)
    counts = Counter(e.tool_names for e in successes)
    top = max(counts.values())
    return next(e.tool_names for e in successes if counts[e.tool_names] == top)


def build_skill(group: Sequence[Episode]) -> Skill:
    """Version 1 of the skill a group of episodes shows (at least one success)."""
    successes = sorted((e for e in group if e.outcome is Outcome.SUCCESS), key=lambda e: e.id)
    if not successes:
        raise ValueError("a skill needs at least one successful episode")
    signature = consensus_signature(group)
    digest = hashlib.sha256(("\x1f".join(signature) + "\x1e" + successes[0].id).encode()).hexdigest()
    seed = Skill(
        id=f"skill-{digest[:20]}", version=0, name="", tool_name="", description="", when_to_use="",
        steps=tuple(), parameters={}, success_rate=0.0, runs=0, successes=0, examples=(), failures=(),
        signature=signature, bindings=(), task_pattern=None, example_tasks=(),
    )
    return _with_evidence(seed, group)


def update_skill(existing: Skill, new_episodes: Sequence[Episode]) -> Skill | None:
    """The next version of `existing` given episodes of its kind, or None if none is new.

    An episode is new evidence when its id is not yet counted and its outcome is known. Any new
    evidence makes exactly one new version (version + 1) that counts it: a success raises
    `successes` and `runs`, a failure raises only `runs`, so the rate falls. Successes whose
    tool sequence equals the skill's signature also re-shape the steps: an argument that was
    constant and now differs becomes a parameter, and parameter examples grow. The caller keeps
    the old version; matching episodes to skills is `crystallize`'s job, not this function's.
    """
    fresh = [e for e in new_episodes if e.id not in existing.evidence and e.outcome is not Outcome.UNKNOWN]
    if not fresh:
        return None
    return _with_evidence(existing, fresh)


def record_run(existing: Skill, run_id: str, succeeded: bool) -> Skill | None:
    """Feedback on one run of a skill (an agent followed it): a new version with the run
    counted, or None when `run_id` was already counted."""
    if run_id in existing.evidence:
        return None
    successes = existing.successes + int(succeeded)
    runs = existing.runs + 1
    examples = tuple(sorted({*existing.examples, run_id})) if succeeded else existing.examples
    failures = existing.failures if succeeded else tuple(sorted({*existing.failures, run_id}))
    skill = replace(existing, version=existing.version + 1, successes=successes, runs=runs,
                    success_rate=_rate(successes, runs), examples=examples, failures=failures)
    return replace(skill, description=_description(skill))


def _with_evidence(base: Skill, episodes: Sequence[Episode]) -> Skill:
    fresh = sorted(episodes, key=lambda e: e.id)
    successes = [e for e in fresh if e.outcome is Outcome.SUCCESS]
    failures = [e for e in fresh if e.outcome is Outcome.FAILURE]
    # The examples that shape the steps: the old ones (rebuilt from their bindings) and the new
    # successes that followed exactly the same tool sequence.
    shaping = [(b.episode_id, _calls_of_binding(base, b)) for b in base.bindings]
    shaping += [(e.id, [(c.name, dict(c.arguments)) for c in e.tool_calls])
                for e in successes if e.tool_names == base.signature]
    steps, parameters, bindings = learn_template(base.signature, shaping)
    example_tasks = (base.example_tasks + tuple(e.task for e in successes))[-MAX_EXAMPLE_TASKS:]
    centroid, count = _centroid(base, successes)
    n_success = base.successes + len(successes)
    runs = base.runs + len(successes) + len(failures)
    tasks_by_id = {e.id: e.task for e in successes}
    pattern = _task_pattern(base, bindings, tasks_by_id)
    skill = replace(
        base,
        version=base.version + 1,
        steps=steps,
        parameters=parameters,
        bindings=bindings,
        successes=n_success,
        runs=runs,
        success_rate=_rate(n_success, runs),
        examples=tuple(sorted({*base.examples, *(e.id for e in successes)})),
        failures=tuple(sorted({*base.failures, *(e.id for e in failures)})),
        example_tasks=example_tasks,
        task_centroid=centroid,
        centroid_count=count,
        task_pattern=pattern,
    )
    name = _name(skill)
    skill = replace(skill, name=name, tool_name=_tool_name(name, skill.id))
    return replace(skill, description=_description(skill), when_to_use=_when_to_use(skill))


def _rate(successes: int, runs: int) -> float:
    return round(successes / runs, 4) if runs else 0.0


def _centroid(base: Skill, successes: Sequence[Episode]) -> tuple[tuple[float, ...] | None, int]:
    vectors = [e.task_vector for e in successes if e.task_vector is not None]
    if not vectors:
        return base.task_centroid, base.centroid_count
    total = np.sum(np.stack(vectors).astype(np.float64), axis=0)
    if base.task_centroid is not None:
        total = total + np.asarray(base.task_centroid, dtype=np.float64) * base.centroid_count
    count = base.centroid_count + len(vectors)
    mean = total / count
    norm = np.linalg.norm(mean) or 1.0
    return tuple(round(float(x), 6) for x in mean / norm), count


# ---------------------------------------------------------------------------------------------
# Templates: which arguments vary, what they are called, how to fill them in.

_MISSING = object()


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _calls_of_binding(skill: Skill, binding: Binding) -> list[tuple[str, dict[str, Any]]]:
    return [(s["tool"], s["arguments"]) for s in _fill_steps(skill.steps, binding.params)]


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
            if first is not _MISSING and all(v is not _MISSING and _canon(v) == _canon(first) for v in values):
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
        lengths = [len(_canon(v)) for v in slot.values if v is not _MISSING]
        return (sum(lengths) / max(len(lengths), 1), slot.step, slot.key)

    for slot in sorted(slots, key=order):
        key = "\x1f".join("\x00" if v is _MISSING else _canon(v) for v in slot.values)
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
            if _canon(v) not in seen and len(examples) < MAX_SCHEMA_EXAMPLES:
                seen.add(_canon(v))
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


def _fill_steps(steps: Sequence[SkillStep], params: Mapping[str, Any]) -> list[dict[str, Any]]:
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


def _task_pattern(skill: Skill, bindings: Sequence[Binding], tasks_by_id: Mapping[str, str]) -> str | None:
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


# ---------------------------------------------------------------------------------------------
# Words: name, description, when to use


def _arrow(signature: Sequence[str]) -> str:
    tools = [t for k, t in enumerate(signature) if k == 0 or signature[k - 1] != t]
    return " → ".join(tools[:6]) + (" → …" if len(tools) > 6 else "")


def _common_terms(skill: Skill) -> list[str]:
    values = {str(v).casefold() for b in skill.bindings for v in b.params.values()}
    tasks = list(skill.example_tasks)
    if not tasks:
        return []
    counts = Counter(w for t in tasks for w in task_words(t) if w not in values)
    first_order = [w for w in _WORD.findall(tasks[0].casefold()) if w in counts]
    terms = []
    for word in first_order:
        if counts[word] * 2 >= len(tasks) and word not in terms:
            terms.append(word)
    return terms[:5]


def _name(skill: Skill) -> str:
    terms = _common_terms(skill) or [skill.signature[0]]
    return f"{' '.join(terms)} via {_arrow(skill.signature)}"


def _tool_name(name: str, skill_id: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", name.split(" via ")[0].casefold()).strip("_") or "skill"
    return f"{words[:50]}_{skill_id[-6:]}"


def _description(skill: Skill) -> str:
    n = len(skill.steps)
    return (f"{skill.name[0].upper()}{skill.name[1:]}: {n} tool call{'s' if n != 1 else ''} learned from "
            f"{len(skill.examples)} successful episode{'s' if len(skill.examples) != 1 else ''}; "
            f"succeeded in {skill.successes} of {skill.runs} runs ({skill.success_rate:.0%}).")


def _when_to_use(skill: Skill) -> str:
    if skill.task_pattern:
        head = f'Use for tasks like "{skill.task_pattern}".'
    else:
        distinct = list(dict.fromkeys(skill.example_tasks))[-3:]
        head = "Use for tasks like: " + "; ".join(f'"{t}"' for t in distinct) + "."
    props = skill.parameters.get("properties", {})
    if props:
        required = set(skill.parameters.get("required", []))
        needs = ", ".join(f"{n}{'' if n in required else ' (optional)'}" for n in props)
        head += f" Needs: {needs}."
    return head


# ---------------------------------------------------------------------------------------------
# Callable forms


def render_skill(skill: Skill, params: Mapping[str, Any]) -> RenderedSkill:
    """The procedure an agent follows, with `params` filled in; bad params raise InvalidParams."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(skill.parameters)
    problems = sorted(
        (f"{'.'.join(str(p) for p in e.absolute_path) or 'params'}: {e.message}" for e in validator.iter_errors(params)),
    )
    if problems:
        raise InvalidParams(f"params for skill {skill.id} v{skill.version} are invalid: " + "; ".join(problems),
                            problems)
    steps = _fill_steps(skill.steps, params)
    lines = [f"# {skill.name}", "", skill.description, "", skill.when_to_use, ""]
    if params:
        lines += ["## Parameters", ""] + [f"- `{k}` = `{_canon(params[k])}`" for k in sorted(params)] + [""]
    lines += ["## Steps", ""]
    for k, step in enumerate(steps, 1):
        lines.append(f"{k}. Call `{step['tool']}` with `{_canon(step['arguments'])}`")
    return RenderedSkill("\n".join(lines) + "\n", tuple(steps))


def skill_tool_definition(skill: Skill) -> ToolDefinitions:
    """The skill as a callable tool: an OpenAI function definition and an MCP tool definition."""
    description = f"{skill.description} {skill.when_to_use}"[:1024]
    schema = json.loads(json.dumps(skill.parameters))  # a copy the caller may change
    return ToolDefinitions(
        openai={"type": "function", "function": {"name": skill.tool_name, "description": description,
                                                 "parameters": schema}},
        mcp={"name": skill.tool_name, "description": description, "inputSchema": json.loads(json.dumps(schema))},
    )


__all__ = [
    "Binding", "ChangeKind", "CrystallizeConfig", "RenderedSkill", "Skill", "SkillChange", "SkillStep",
    "ToolDefinitions", "build_skill", "consensus_signature", "crystallize", "group_episodes",
    "learn_template", "record_run", "render_skill", "sequence_similarity", "skill_tool_definition",
    "update_skill",
]
