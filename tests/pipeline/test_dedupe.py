"""Dedupe decisions, against a real dedupe index over real cube files."""

from pathlib import Path

import pytest

from pipeline.dedupe import dedupe_batch
from pipeline.embed import embed_batch
from pipeline.parse import parse_batch
from pipeline.write_decisions import WritePolicy
from pipeline.write_plan import plan_writes
from storage.cube.writer import CubeWriter
from storage.dedupe_index import DedupeIndex
from storage.paths import DataPaths
from tests.builders import CUBE, draft, intake_batch

THRESHOLD = 0.9


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    p = DataPaths(tmp_path)
    p.ensure()
    return p


def run(batch, index, encoder, count_tokens):
    out, changes = dedupe_batch(embed_batch(parse_batch(batch, count_tokens), encoder), index, THRESHOLD)
    index.apply(changes)
    return out


def decisions(out):
    return [(r["id"], r["dedupe"], r["status"], r["duplicate_of"], r["near_duplicate_of"])
            for r in out.select(["id", "dedupe", "status", "duplicate_of", "near_duplicate_of"]).to_pylist()]


def test_exact_duplicate_inside_one_batch_points_at_the_first(paths, encoder, count_tokens):
    index = DedupeIndex(paths, encoder.dim)
    out = run(intake_batch([("add", draft("a", "The launch is on Friday")),
                            ("add", draft("b", "the launch is on  friday"))]), index, encoder, count_tokens)
    assert decisions(out) == [
        ("a", "new", "active", None, None),
        ("b", "duplicate", "duplicate", "a", None),
    ]


def test_duplicate_of_a_stored_memory_is_found_from_its_file(paths, encoder, count_tokens):
    first = run(intake_batch([("add", draft("a", "Alice drinks green tea"))]), DedupeIndex(paths, encoder.dim),
                encoder, count_tokens)
    store = CubeWriter(paths.cube_db(CUBE), WritePolicy())
    store.apply(plan_writes(first)[CUBE], "all-MiniLM-L6-v2")
    fresh_index = DedupeIndex(paths, encoder.dim)  # as after a restart: state comes from the file
    out = run(intake_batch([("add", draft("b", "Alice drinks green tea"))], first_seq=2), fresh_index,
              encoder, count_tokens)
    assert decisions(out) == [("b", "duplicate", "duplicate", "a", None)]


def test_near_duplicate_is_kept_active_and_linked(paths, encoder, count_tokens):
    index = DedupeIndex(paths, encoder.dim)
    out = run(intake_batch([("add", draft("a", "Alice prefers green tea over coffee in the morning")),
                            ("add", draft("b", "Alice prefers green tea instead of coffee in the morning")),
                            ("add", draft("c", "The quarterly report is due next Tuesday"))]),
              index, encoder, count_tokens)
    assert decisions(out) == [
        ("a", "new", "active", None, None),
        ("b", "near_duplicate", "active", None, "a"),
        ("c", "new", "active", None, None),
    ]
    assert out["near_duplicate_score"][1].as_py() >= THRESHOLD


def test_repeating_an_id_is_a_no_op_decision(paths, encoder, count_tokens):
    index = DedupeIndex(paths, encoder.dim)
    run(intake_batch([("add", draft("a", "first text"))]), index, encoder, count_tokens)
    out = run(intake_batch([("add", draft("a", "different text, same id"))], first_seq=5), index, encoder, count_tokens)
    assert decisions(out) == [("a", "exists", None, None, None)]


def test_after_a_delete_the_same_content_is_new_again(paths, encoder, count_tokens):
    index = DedupeIndex(paths, encoder.dim)
    out = run(intake_batch([("add", draft("a", "ephemeral fact")), ("delete", draft("a", "")),
                            ("add", draft("b", "ephemeral fact"))]), index, encoder, count_tokens)
    assert [d[:2] for d in decisions(out)] == [("a", "new"), ("a", "skipped"), ("b", "new")]


def test_cubes_never_dedupe_against_each_other(paths, encoder, count_tokens):
    index = DedupeIndex(paths, encoder.dim)
    out = run(intake_batch([("add", draft("a", "shared sentence")),
                            ("add", draft("a", "shared sentence", cube="agent-bob", agent="bob"))]),
              index, encoder, count_tokens)
    assert [d[1] for d in decisions(out)] == ["new", "new"]
