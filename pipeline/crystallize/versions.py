"""Versions of a skill: version 1 from a group, a new version per new evidence or counted run."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from pipeline.crystallize.grouping import consensus_signature
from pipeline.crystallize.skill import Skill
from pipeline.crystallize.template import calls_of_binding, learn_task_pattern, learn_template
from pipeline.crystallize.wording import skill_description, skill_name, skill_tool_name, skill_when_to_use
from pipeline.episodes import Episode, Outcome

MAX_EXAMPLE_TASKS = 20  # task texts kept on a skill, for when_to_use and vector-free matching


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
    return replace(skill, description=skill_description(skill))


def _with_evidence(base: Skill, episodes: Sequence[Episode]) -> Skill:
    fresh = sorted(episodes, key=lambda e: e.id)
    successes = [e for e in fresh if e.outcome is Outcome.SUCCESS]
    failures = [e for e in fresh if e.outcome is Outcome.FAILURE]
    # The examples that shape the steps: the old ones (rebuilt from their bindings) and the new
    # successes that followed exactly the same tool sequence.
    shaping = [(b.episode_id, calls_of_binding(base, b)) for b in base.bindings]
    shaping += [(e.id, [(c.name, dict(c.arguments)) for c in e.tool_calls])
                for e in successes if e.tool_names == base.signature]
    steps, parameters, bindings = learn_template(base.signature, shaping)
    example_tasks = (base.example_tasks + tuple(e.task for e in successes))[-MAX_EXAMPLE_TASKS:]
    centroid, count = _centroid(base, successes)
    n_success = base.successes + len(successes)
    runs = base.runs + len(successes) + len(failures)
    tasks_by_id = {e.id: e.task for e in successes}
    pattern = learn_task_pattern(base, bindings, tasks_by_id)
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
    name = skill_name(skill)
    skill = replace(skill, name=name, tool_name=skill_tool_name(name, skill.id))
    return replace(skill, description=skill_description(skill), when_to_use=skill_when_to_use(skill))


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
