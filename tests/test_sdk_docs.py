"""docs/sdk.md stays true: each of its Python blocks runs as written against a live server, and its
error table names every error class of the SDK with its code and status."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memos_client.errors import ERRORS

SDK_DOC = Path(__file__).resolve().parents[1] / "docs" / "sdk.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", SDK_DOC.read_text(), re.S | re.M)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_each_python_block_runs_against_a_live_server(server, monkeypatch, index):
    # The examples name no server: the SDK reads MEMOS_URL, as a reader's shell would set it.
    monkeypatch.setenv("MEMOS_URL", server.url)
    monkeypatch.delenv("MEMOS_API_KEY", raising=False)
    monkeypatch.delenv("MEMOS_AGENT", raising=False)
    exec(compile(BLOCKS[index], f"docs/sdk.md block {index + 1}", "exec"), {"__name__": "__main__"})


def test_the_error_table_lists_every_class_with_its_code_and_status():
    rows = re.findall(r"^\| `(\w+)`(?: \(an? `\w+`\))? \| `(\w+)` \| (\d+)", SDK_DOC.read_text(), re.M)
    assert sorted((name, code, int(status)) for name, code, status in rows) == sorted(
        (cls.__name__, cls.code, cls.status) for cls in ERRORS)
