"""A cube's episodes a page at a time, newest first, on a real cube file."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from pipeline.errors import Invalid
from pipeline.write_decisions import WritePolicy
from storage.cube.episode_list import episode_page
from storage.cube.writer import CubeWriter
from tests.builders import stored_row

MODEL = "all-MiniLM-L6-v2"


def episode(seq: int, episode_id: str, **attrs) -> dict:
    return stored_row(seq, episode_id, op="episode", attrs=orjson.dumps(attrs).decode())


def trace(seq: int, memory_id: str, episode_id: str) -> dict:
    return stored_row(seq, memory_id, f"step {seq}", episode=episode_id, vector=np.ones(384, dtype=np.float32))


@pytest.fixture
def cube(tmp_path):
    path = tmp_path / "agent-a.db"
    writer = CubeWriter(path, WritePolicy())
    writer.apply([episode(1, "ep-1", action="open", task="first", at=100),
                  episode(2, "ep-2", action="open", task="second", at=200),
                  episode(3, "ep-3", action="open", task="third", at=300),
                  trace(4, "t1", "ep-2"), trace(5, "t2", "ep-2")], MODEL)
    writer.apply([episode(6, "ep-2", action="close", outcome="success", at=400),
                  episode(7, "ep-1", action="close", outcome="failure", at=500)], MODEL)
    writer.close()
    return path


def test_episodes_page_newest_first_with_their_step_counts(cube):
    first = episode_page(cube, 2, None)
    assert [(e.id, e.task, e.outcome, e.closed_at, e.traces) for e in first.items] == [
        ("ep-3", "third", "unknown", None, 0), ("ep-2", "second", "success", 400, 2)]
    second = episode_page(cube, 2, first.next_cursor)
    assert [e.id for e in second.items] == ["ep-1"] and second.next_cursor is None


def test_an_outcome_keeps_only_episodes_closed_with_it(cube):
    assert [e.id for e in episode_page(cube, 10, None, outcome="failure").items] == ["ep-1"]
    assert [e.id for e in episode_page(cube, 10, None, outcome="unknown").items] == []  # open ones are not closed


def test_a_cursor_not_issued_here_is_refused(cube):
    with pytest.raises(Invalid):
        episode_page(cube, 10, "bm90LWEtY3Vyc29y")


def test_a_cube_without_a_file_has_no_episodes_and_gets_no_file(tmp_path):
    assert episode_page(tmp_path / "agent-b.db", 10, None).items == []
    assert not (tmp_path / "agent-b.db").exists()
