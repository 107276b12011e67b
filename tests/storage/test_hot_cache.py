"""Hot vectors on real cube files: loaded on first search, following the change feed, evicted to the budget."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from pipeline.filters import SearchFilter
from pipeline.write_decisions import WritePolicy
from storage.cube.reader import CubeReader
from storage.cube.writer import CubeWriter
from storage.hot_cache import HotCache
from tests.builders import stored_row

MODEL = "all-MiniLM-L6-v2"
DIM = 384


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def row(seq, memory_id, op="add", **extra):
    return stored_row(seq, memory_id, f"text {memory_id}", op, **{"vector": vec(seq), **extra})


@pytest.fixture
def cubes(tmp_path):
    """Cube files written the way the write actor writes them, and an opener as the read side lends one."""
    writers: dict[str, CubeWriter] = {}

    def write(cube_id: str, rows) -> None:
        if cube_id not in writers:
            writers[cube_id] = CubeWriter(tmp_path / f"{cube_id}.db", WritePolicy())
        writers[cube_id].apply(rows, MODEL)

    @contextmanager
    def open_cube(cube_id: str) -> Iterator[CubeReader | None]:
        path = tmp_path / f"{cube_id}.db"
        if not path.exists():
            yield None
            return
        reader = CubeReader(path)
        try:
            yield reader
        finally:
            reader.close()

    yield write, open_cube
    for writer in writers.values():
        writer.close()


def cache(open_cube, max_bytes=1 << 30) -> HotCache:
    return HotCache(DIM, open_cube, max_bytes=max_bytes, ivf_min_rows=10_000, ivf_probes=8)


def test_a_small_cube_is_searched_in_memory_from_its_first_search(cubes):
    write, open_cube = cubes
    write("a", [row(1, "m1"), row(2, "m2", kind="message")])
    hot = cache(open_cube)
    hits = hot.search("a", vec(1), 5, None)
    assert [h[0] for h in hits] == ["m1", "m2"] and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert hot.search("a", vec(1), 5, SearchFilter(kinds=frozenset({"message"})))[0][0] == "m2"
    assert (hot.cubes(), hot.is_hot("a"), hot.warming()) == (["a"], True, 0)
    hot.close()


def test_writes_and_deletes_are_seen_by_the_next_search(cubes):
    write, open_cube = cubes
    write("a", [row(1, "m1"), row(2, "m2")])
    hot = cache(open_cube)
    hot.search("a", vec(1), 5, None)
    write("a", [row(3, "m1", op="delete"), row(4, "m3")])
    assert sorted(h[0] for h in hot.search("a", vec(1), 5, None)) == ["m2", "m3"]
    hot.close()


def test_a_cube_without_a_file_or_over_the_budget_is_not_hot(cubes):
    write, open_cube = cubes
    write("a", [row(1, "m1"), row(2, "m2")])
    tiny = cache(open_cube, max_bytes=2 * DIM * 4 - 1)  # two rows do not fit
    assert tiny.search("a", vec(1), 5, None) is None and not tiny.is_hot("a")
    assert tiny.search("missing", vec(1), 5, None) is None
    off = cache(open_cube, max_bytes=0)
    assert off.search("a", vec(1), 5, None) is None and off.cubes() == []
    tiny.close()
    off.close()


def test_the_least_recently_searched_cube_is_evicted_when_the_budget_is_exceeded(cubes):
    write, open_cube = cubes
    write("a", [row(1, "a1")])
    write("b", [row(2, "b1")])
    probe = cache(open_cube)
    probe.search("a", vec(1), 1, None)
    budget = probe.nbytes() * 3 // 2  # one small cube's matrix fits, two do not
    probe.close()
    hot = cache(open_cube, max_bytes=budget)
    hot.search("a", vec(1), 1, None)
    hot.search("b", vec(2), 1, None)
    assert (hot.cubes(), hot.is_hot("a"), hot.nbytes() <= budget) == (["b"], False, True)
    hot.forget("b")
    assert (hot.cubes(), hot.nbytes()) == ([], 0)
    hot.close()


def test_warm_loads_a_cube_before_anyone_searches_it(cubes):
    write, open_cube = cubes
    write("a", [row(1, "m1")])
    hot = cache(open_cube)
    hot.warm("a")  # loads in the background; searches take Lance until it is done
    deadline = time.monotonic() + 10
    while hot.warming() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hot.is_hot("a") and hot.search("a", vec(1), 1, None)[0][0] == "m1"
    hot.close()
