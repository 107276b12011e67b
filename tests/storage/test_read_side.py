"""The read side on a real data dir: per-thread cube handles, vector search from hot memory, deleted cubes forgotten."""

import threading

from pipeline.write_decisions import WritePolicy
from storage.cube.writer import CubeWriter
from storage.paths import DataPaths
from storage.read_side import ReadSide, VectorTuning
from tests.storage.test_hot_cache import DIM, MODEL, row, vec

TUNING = VectorTuning(hot_max_bytes=1 << 30, hot_ivf_min_rows=10_000, hot_ivf_probes=8, ann_nprobes=20,
                      ann_refine_factor=1)


def data_dir(tmp_path) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    writer = CubeWriter(paths.cube_db("agent-a"), WritePolicy())
    writer.apply([row(1, "m1"), row(2, "m2")], MODEL)
    writer.close()
    return paths


def test_a_cube_without_a_file_lends_no_handle(tmp_path):
    read = ReadSide(data_dir(tmp_path), DIM, TUNING)
    with read.cube("agent-nobody") as store:
        assert store is None
    read.close()


def test_each_thread_keeps_its_own_handle_to_a_cube(tmp_path):
    read = ReadSide(data_dir(tmp_path), DIM, TUNING)
    with read.cube("agent-a") as first:
        pass
    with read.cube("agent-a") as again:
        assert again is first
    other: list = []

    def elsewhere() -> None:
        with read.cube("agent-a") as store:
            other.append(store)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert other[0] is not None and other[0] is not first
    read.close()


def test_vectors_are_searched_in_memory_and_a_deleted_cube_is_forgotten(tmp_path):
    read = ReadSide(data_dir(tmp_path), DIM, TUNING)
    assert [h[0] for h in read.vector_search("agent-a", "s0", vec(1), 2, None)] == ["m1", "m2"]
    assert (read.hot_cubes(), read.is_hot("agent-a"), read.warming()) == (["agent-a"], True, 0)
    assert read.hot_bytes() > 0
    with read.cube("agent-a") as before:
        pass
    read.forget_cube("agent-a")
    assert (read.hot_cubes(), read.is_hot("agent-a"), read.hot_bytes()) == ([], False, 0)
    with read.cube("agent-a") as after:
        assert after is not None and after is not before  # every thread reopens its handles
    read.close()
