"""Episode summary: an extractive Markdown summary of a closed episode, built without an LLM.

Goal (the task), key steps (tool calls with short arguments), the result (outcome and the last
call's status and result) and key details kept verbatim: shell commands, file paths, URLs,
error lines and identifiers, found with regular expressions in tool arguments, results and
messages. The summary is stored as a searchable memory linked to the episode's traces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.episodes import Episode, EpisodeTrace, Outcome, ToolCall

MAX_STEPS = 12  # steps listed; longer episodes show the first and last ones
MAX_DETAILS = 8  # per category
MAX_DETAIL_CHARS = 200
MAX_ARG_CHARS = 40
MAX_RESULT_CHARS = 300

# Argument names whose value is a command line, and tools whose main argument is one.
COMMAND_KEYS = frozenset({"cmd", "command", "script", "shell", "commandline", "command_line"})
SHELL_TOOLS = frozenset({"bash", "shell", "sh", "exec", "run", "run_command", "terminal", "execute"})

_URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+")
_PATH = re.compile(r"(?<![\w/.:])(?:~|\.{1,2})?(?:/[\w.@+-]+){2,}/?|(?<![\w/])[\w.-]+/[\w./-]*\.[A-Za-z0-9]{1,8}\b")
_INLINE_CODE = re.compile(r"`([^`\n]{2,200})`")
_PROMPT = re.compile(r"^\s*\$ (.+)$", re.MULTILINE)
# Case matters: "FAILED" and "ERROR" are a tool's verdict, "1 failed, 41 passed" is a tally.
_ERROR_LINE = re.compile(
    r"^.*(?:\b[A-Z]\w*(?:Error|Exception)\b|\bTraceback\b|\b[Ee]rror:|\bERROR\b|\b[Ff]atal:|\bFAILED\b|"
    r"\b[Pp]anic:|exit (?:code|status) [1-9]\d*|Segmentation fault|[Pp]ermission denied|"
    r"No such file or directory|command not found).*$",
    re.MULTILINE,
)
_IDS = [
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE),  # uuid
    re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b"),  # ulid
    re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"),  # commit sha
    re.compile(r"\b[A-Z][A-Z0-9]{1,9}-\d{1,6}\b"),  # ticket: OPS-1234
    re.compile(r"(?<![\w.])v\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?\b"),  # version tag
    re.compile(r"(?<![\w&])#\d{2,7}\b"),  # issue / PR number
]


@dataclass(frozen=True)
class EpisodeSummary:
    markdown: str  # the memory body
    structured: dict[str, Any]  # the same content as data (memory metadata)
    source_ids: tuple[str, ...]  # the episode's traces: `derived_from` / `part_of_episode` links


def summarize_episode(episode: Episode) -> EpisodeSummary:
    calls = episode.tool_calls
    steps = _steps(calls)
    result = _result(episode)
    details = key_details(_texts(episode))
    structured = {
        "episode_id": episode.id,
        "goal": episode.task.strip(),
        "outcome": episode.outcome.value,
        "steps": steps,
        "result": result,
        "details": details,
        "tool_calls": len(calls),
        "messages": sum(1 for t in episode.traces if t.tool is None),
    }
    return EpisodeSummary(_markdown(structured), structured, episode.trace_ids)


def key_details(texts: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Commands, paths, URLs, errors and ids found in (source, text) pairs, first seen first.

    `source` is "command" for a text known to be a command line (a shell tool's argument),
    anything else for free text.
    """
    found: dict[str, list[str]] = {"commands": [], "paths": [], "urls": [], "errors": [], "ids": []}

    def keep(kind: str, value: str) -> None:
        value = value.strip()
        if kind in ("paths", "urls", "ids"):  # sentence punctuation is not part of a path or id
            value = value.rstrip(".,;:")
        if len(value) > MAX_DETAIL_CHARS:
            value = value[: MAX_DETAIL_CHARS - 1] + "…"
        if value and value not in found[kind] and len(found[kind]) < MAX_DETAILS:
            found[kind].append(value)

    for source, text in texts:
        if source == "command":
            keep("commands", text.strip().splitlines()[0] if text.strip() else "")
        for match in _PROMPT.finditer(text):
            keep("commands", match.group(1))
        for match in _INLINE_CODE.finditer(text):
            if " " in match.group(1).strip():  # `kubectl get pods` is a command; `config.yaml` is not
                keep("commands", match.group(1))
        for match in _URL.finditer(text):
            keep("urls", match.group(0))
        without_urls = _URL.sub(" ", text)
        for match in _PATH.finditer(without_urls):
            keep("paths", match.group(0))
        for match in _ERROR_LINE.finditer(text):
            keep("errors", match.group(0))
        for value in _ids_in(without_urls):
            keep("ids", value)
    return found


def _ids_in(text: str) -> list[str]:
    """Ids in text order; a span already taken by an earlier pattern (a uuid) is not re-read
    by a later one (a commit sha inside it)."""
    taken: list[tuple[int, int]] = []
    for pattern in _IDS:
        for match in pattern.finditer(text):
            if not any(match.start() < end and start < match.end() for start, end in taken):
                taken.append((match.start(), match.end()))
    return [text[start:end] for start, end in sorted(taken)]


def _texts(episode: Episode) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [("task", episode.task)]
    for trace in episode.traces:
        out.extend(_trace_texts(trace))
    return out


def _trace_texts(trace: EpisodeTrace) -> list[tuple[str, str]]:
    if trace.tool is None:
        return [("message", trace.text)] if trace.text else []
    call = trace.tool
    out = []
    for key, value in call.arguments.items():
        is_command = key.casefold() in COMMAND_KEYS or (call.name.casefold() in SHELL_TOOLS and isinstance(value, str))
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        out.append(("command" if is_command and isinstance(value, str) else "argument", text))
    if call.result:
        out.append(("result", call.result))
    if trace.text:
        out.append(("message", trace.text))
    return out


def _short(value: Any, limit: int = MAX_ARG_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _steps(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """One entry per call; consecutive calls of the same tool with the same status fold into one."""
    steps: list[dict[str, Any]] = []
    for call in calls:
        args = {k: _short(v) for k, v in list(call.arguments.items())[:4]}
        if steps and steps[-1]["tool"] == call.name and steps[-1]["status"] == call.status:
            steps[-1]["times"] += 1
            continue
        steps.append({"tool": call.name, "args": args, "status": call.status, "times": 1})
    return steps


def _result(episode: Episode) -> dict[str, Any]:
    calls = episode.tool_calls
    last = calls[-1] if calls else None
    failed = next((c for c in reversed(calls) if c.failed), None)
    messages = [t for t in episode.traces if t.tool is None and t.text]
    text = None
    if last is not None and last.result:
        text = last.result
    elif messages:
        text = messages[-1].text
    return {
        "outcome": episode.outcome.value,
        "last_tool": last.name if last else None,
        "last_status": last.status if last else None,
        "last_result": _short(text, MAX_RESULT_CHARS) if text else None,
        "failed_tool": failed.name if failed else None,
    }


def _step_line(step: Mapping[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in step["args"].items())
    line = f"`{step['tool']}`" + (f" ({args})" if args else "")
    if step["times"] > 1:
        line += f" ×{step['times']}"
    if step["status"]:
        line += f" — {step['status']}"
    return line


def _code(value: str) -> str:
    """Inline code that survives backticks inside the value."""
    return f"`` {value} ``" if "`" in value else f"`{value}`"


def _markdown(s: Mapping[str, Any]) -> str:
    outcome = Outcome(s["outcome"])
    lines = [f"## Episode: {s['goal'] or s['episode_id']}", "", f"**Goal:** {s['goal'] or '(not stated)'}", ""]
    result = s["result"]
    verdict = {"success": "succeeded", "failure": "failed", "unknown": "ended (outcome unknown)"}[outcome.value]
    summary = f"**Result:** {verdict}"
    if result["failed_tool"] and outcome is not Outcome.SUCCESS:
        summary += f" at `{result['failed_tool']}`"
    if result["last_result"]:
        summary += f" — {result['last_result']}"
    lines += [summary, ""]
    steps = s["steps"]
    if steps:
        lines += ["### Key steps", ""]
        shown = steps if len(steps) <= MAX_STEPS else steps[:6] + [None] + steps[-5:]
        number = 0
        for step in shown:
            if step is None:
                lines.append(f"- … {len(steps) - 11} more steps …")
                number = len(steps) - 5
                continue
            number += 1
            lines.append(f"{number}. {_step_line(step)}")
        lines.append("")
    titles = {"commands": "Commands", "paths": "Paths", "urls": "URLs", "errors": "Errors", "ids": "IDs"}
    details = [(titles[k], v) for k, v in s["details"].items() if v]
    if details:
        lines += ["### Key details", ""]
        for title, values in details:
            lines.append(f"- {title}: " + ", ".join(_code(v) for v in values))
        lines.append("")
    return "\n".join(lines)
