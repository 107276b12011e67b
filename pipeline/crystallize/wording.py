"""Words of a skill: its name, callable tool name, description and when to use it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from pipeline.crystallize.similarity import TASK_WORD, task_words
from pipeline.crystallize.skill import Skill


def _arrow(signature: Sequence[str]) -> str:
    tools = [t for k, t in enumerate(signature) if k == 0 or signature[k - 1] != t]
    return " → ".join(tools[:6]) + (" → …" if len(tools) > 6 else "")


def _common_terms(skill: Skill) -> list[str]:
    values = {str(v).casefold() for b in skill.bindings for v in b.params.values()}
    tasks = list(skill.example_tasks)
    if not tasks:
        return []
    counts = Counter(w for t in tasks for w in task_words(t) if w not in values)
    first_order = [w for w in TASK_WORD.findall(tasks[0].casefold()) if w in counts]
    terms = []
    for word in first_order:
        if counts[word] * 2 >= len(tasks) and word not in terms:
            terms.append(word)
    return terms[:5]


def skill_name(skill: Skill) -> str:
    terms = _common_terms(skill) or [skill.signature[0]]
    return f"{' '.join(terms)} via {_arrow(skill.signature)}"


def skill_tool_name(name: str, skill_id: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", name.split(" via ")[0].casefold()).strip("_") or "skill"
    return f"{words[:50]}_{skill_id[-6:]}"


def skill_description(skill: Skill) -> str:
    n = len(skill.steps)
    return (f"{skill.name[0].upper()}{skill.name[1:]}: {n} tool call{'s' if n != 1 else ''} learned from "
            f"{len(skill.examples)} successful episode{'s' if len(skill.examples) != 1 else ''}; "
            f"succeeded in {skill.successes} of {skill.runs} runs ({skill.success_rate:.0%}).")


def skill_when_to_use(skill: Skill) -> str:
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
