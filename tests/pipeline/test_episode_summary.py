"""Extractive episode summaries: goal, key steps, result and verbatim details, without an LLM."""

from pipeline.episode_summary import key_details, summarize_episode
from pipeline.episodes import Episode, EpisodeTrace, Outcome, ToolCall


def message(trace_id, text, speaker="dana"):
    return EpisodeTrace(trace_id, "message", text, speaker=speaker)


def call(trace_id, name, arguments, result, status):
    return EpisodeTrace(trace_id, "tool_call", tool=ToolCall(name, arguments, result, status))


FIX_BUILD = Episode("ep-1", "Fix the failing nightly billing build", Outcome.SUCCESS, (
    message("t1", "The nightly build of billing fails since commit 3f9a2c1d, see "
                  "https://ci.example.com/jobs/8812. Ticket OPS-412."),
    call("t2", "bash", {"command": "pytest tests/test_invoice.py -x"},
         "FAILED tests/test_invoice.py::test_totals - AssertionError: 10 != 12\n1 failed, 41 passed", "error"),
    call("t3", "read_file", {"path": "/srv/billing/invoice.py"}, "def total(lines): ...", "ok"),
    call("t4", "edit_file", {"path": "/srv/billing/invoice.py", "patch": "round half up"}, "1 file changed", "ok"),
    call("t5", "bash", {"command": "pytest tests/test_invoice.py -x"}, "42 passed in 1.2s", "ok"),
    message("t6", "Fixed rounding in `total()`; opened PR #1234, released as v2.3.1", speaker="agent"),
))


def test_a_fixed_build_summarizes_goal_steps_result_and_details():
    summary = summarize_episode(FIX_BUILD)
    assert summary.markdown == """## Episode: Fix the failing nightly billing build

**Goal:** Fix the failing nightly billing build

**Result:** succeeded — 42 passed in 1.2s

### Key steps

1. `bash` (command=pytest tests/test_invoice.py -x) — error
2. `read_file` (path=/srv/billing/invoice.py) — ok
3. `edit_file` (path=/srv/billing/invoice.py, patch=round half up) — ok
4. `bash` (command=pytest tests/test_invoice.py -x) — ok

### Key details

- Commands: `pytest tests/test_invoice.py -x`
- Paths: `tests/test_invoice.py`, `/srv/billing/invoice.py`
- URLs: `https://ci.example.com/jobs/8812`
- Errors: `FAILED tests/test_invoice.py::test_totals - AssertionError: 10 != 12`
- IDs: `3f9a2c1d`, `OPS-412`, `#1234`, `v2.3.1`
"""
    assert summary.structured == {
        "episode_id": "ep-1",
        "goal": "Fix the failing nightly billing build",
        "outcome": "success",
        "steps": [
            {"tool": "bash", "args": {"command": "pytest tests/test_invoice.py -x"}, "status": "error", "times": 1},
            {"tool": "read_file", "args": {"path": "/srv/billing/invoice.py"}, "status": "ok", "times": 1},
            {"tool": "edit_file", "args": {"path": "/srv/billing/invoice.py", "patch": "round half up"},
             "status": "ok", "times": 1},
            {"tool": "bash", "args": {"command": "pytest tests/test_invoice.py -x"}, "status": "ok", "times": 1},
        ],
        "result": {"outcome": "success", "last_tool": "bash", "last_status": "ok",
                   "last_result": "42 passed in 1.2s", "failed_tool": "bash"},
        "details": {
            "commands": ["pytest tests/test_invoice.py -x"],
            "paths": ["tests/test_invoice.py", "/srv/billing/invoice.py"],
            "urls": ["https://ci.example.com/jobs/8812"],
            "errors": ["FAILED tests/test_invoice.py::test_totals - AssertionError: 10 != 12"],
            "ids": ["3f9a2c1d", "OPS-412", "#1234", "v2.3.1"],
        },
        "tool_calls": 4,
        "messages": 2,
    }
    assert summary.source_ids == ("t1", "t2", "t3", "t4", "t5", "t6")


def test_a_failed_episode_names_the_failing_tool_and_keeps_the_error_verbatim():
    episode = Episode("ep-2", "Deploy api 1.5.0", Outcome.FAILURE, (
        call("t1", "build", {"service": "api", "tag": "1.5.0"}, "built", "ok"),
        call("t2", "rollout", {"service": "api"},
             "Traceback (most recent call last):\nkubernetes.client.exceptions.ApiException: (403) Forbidden",
             "error"),
    ))
    summary = summarize_episode(episode)
    assert summary.markdown.splitlines()[4] == (
        "**Result:** failed at `rollout` — Traceback (most recent call last): "
        "kubernetes.client.exceptions.ApiException: (403) Forbidden")
    assert summary.structured["details"]["errors"] == [
        "Traceback (most recent call last):",
        "kubernetes.client.exceptions.ApiException: (403) Forbidden",
    ]


def test_repeated_polling_folds_into_one_step():
    polls = [call(f"t{i}", "get_status", {"job": "j-7"}, "running", "ok") for i in range(5)]
    episode = Episode("ep-3", "Wait for the export job", Outcome.UNKNOWN, tuple(polls))
    summary = summarize_episode(episode)
    assert summary.structured["steps"] == [{"tool": "get_status", "args": {"job": "j-7"}, "status": "ok", "times": 5}]
    assert "1. `get_status` (job=j-7) ×5 — ok" in summary.markdown
    assert "**Result:** ended (outcome unknown) — running" in summary.markdown


def test_a_long_episode_lists_its_first_and_last_steps():
    calls = [call(f"t{i}", f"tool_{i}", {}, "ok", "ok") for i in range(20)]
    markdown = summarize_episode(Episode("ep-4", "Long task", Outcome.SUCCESS, tuple(calls))).markdown
    steps = [line for line in markdown.splitlines() if line[:1].isdigit() or line.startswith("- …")]
    assert steps == ["1. `tool_0` — ok", "2. `tool_1` — ok", "3. `tool_2` — ok", "4. `tool_3` — ok",
                     "5. `tool_4` — ok", "6. `tool_5` — ok", "- … 9 more steps …", "16. `tool_15` — ok",
                     "17. `tool_16` — ok", "18. `tool_17` — ok", "19. `tool_18` — ok", "20. `tool_19` — ok"]


def test_a_conversation_without_tools_summarizes_from_its_messages():
    episode = Episode("ep-5", "Plan the team offsite", Outcome.SUCCESS, (
        message("t1", "Let's do Lisbon, the venue list is at https://wiki.example.com/offsite."),
        message("t2", "Booked: confirmation 8f14e45f-ceea-467f-a0e6-1a2b3c4d5e6f.", speaker="agent"),
    ))
    summary = summarize_episode(episode)
    assert summary.structured["result"] == {"outcome": "success", "last_tool": None, "last_status": None,
                                            "last_result": "Booked: confirmation 8f14e45f-ceea-467f-a0e6-1a2b3c4d5e6f.",
                                            "failed_tool": None}
    assert summary.structured["details"]["urls"] == ["https://wiki.example.com/offsite"]
    assert summary.structured["details"]["ids"] == ["8f14e45f-ceea-467f-a0e6-1a2b3c4d5e6f"]
    assert "### Key steps" not in summary.markdown


def test_key_details_find_prompts_inline_commands_and_shell_arguments():
    details = key_details([
        ("message", "Run `kubectl rollout status deploy/api -n prod` then check ~/logs/api.log"),
        ("result", "$ make release\nmake: *** [release] Error 2\nbash: jq: command not found"),
        ("command", "docker compose -f deploy/compose.yml up -d\nsecond line ignored"),
    ])
    assert details == {
        "commands": ["kubectl rollout status deploy/api -n prod", "make release",
                     "docker compose -f deploy/compose.yml up -d"],
        "paths": ["~/logs/api.log", "deploy/compose.yml"],
        "urls": [],
        "errors": ["bash: jq: command not found"],
        "ids": [],
    }
