"""The pipeline driver end to end on local Ray: intake log -> every stage of the chain -> the stores."""

from __future__ import annotations

import threading
import time

import ray

from actors.pipeline_driver import Completion, PipelineDriver
from actors.stage_chain import StageChain
from configs import Settings
from storage.cube.reader import CubeReader
from storage.intake_log import IntakeEntry, IntakeLog
from storage.lexical_index import LexicalReader
from storage.paths import DataPaths
from storage.vector_shard import VectorShard
from tests.builders import CUBE, draft
from pipeline.parse import encode_draft


class Recorder:
    def __init__(self) -> None:
        self.done: list[int] = []
        self.failed: list[int] = []
        self.changed = threading.Event()

    def completed(self, c: Completion) -> None:
        self.done += c.done
        self.failed += c.failed
        self.changed.set()

    def wait_for(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.done) + len(self.failed) < n:
            assert time.monotonic() < deadline, f"only {len(self.done)} done, {len(self.failed)} failed"
            self.changed.wait(0.2)
            self.changed.clear()


def driver_for(settings: Settings, actors, intake: IntakeLog, recorder: Recorder) -> PipelineDriver:
    return PipelineDriver(intake, lambda cube: "s0", StageChain(actors), batch_max=16, linger_ms=5, max_in_flight=3,
                          listeners=[recorder])


def append(intake: IntakeLog, job: str, items: list[tuple[str, str]], op: str = "add") -> list[int]:
    entries = [IntakeEntry(job, op, CUBE, i, encode_draft(draft(i, text))) for i, text in items]
    return intake.append([(job, "alice", "batch", len(entries))], entries)


def test_entries_flow_through_every_stage_into_all_three_stores(ray_pipeline, tmp_path):
    settings, actors = ray_pipeline
    intake = IntakeLog(tmp_path / "intake.db")
    recorder = Recorder()
    driver = driver_for(settings, actors, intake, recorder)
    items = [(f"flow-{i}", f"fact number {i}: the {['red', 'blue', 'green'][i % 3]} kite flew {i} metres")
             for i in range(40)]
    append(intake, "job-flow", items + [("flow-dup", items[0][1])])
    driver.start()
    try:
        recorder.wait_for(41)
    finally:
        driver.stop()
    assert recorder.failed == [] and sorted(recorder.done) == list(range(1, 42))
    assert intake.job("job-flow").status == "done"
    paths = DataPaths(settings.data_dir)
    store = CubeReader(paths.cube_db(CUBE))
    assert (store.get("flow-dup").status, store.get("flow-dup").duplicate_of) == ("duplicate", "flow-0")
    lexical = LexicalReader(paths.lexical_dir("s0"))
    assert [i for _, i, _ in lexical.search("kite flew 17 metres", [CUBE], 1)] == ["flow-17"]
    vectors = VectorShard(paths.vectors_dir("s0"), 384, create=False)
    assert vectors.count(CUBE) >= 41 - 1  # every active memory has a vector; the duplicate does not


def test_a_killed_write_actor_loses_nothing_and_duplicates_nothing(ray_pipeline, tmp_path):
    settings, actors = ray_pipeline
    intake = IntakeLog(tmp_path / "intake.db")
    recorder = Recorder()
    driver = driver_for(settings, actors, intake, recorder)
    items = [(f"kill-{i}", f"kill test memory {i} about topic {i * 7}") for i in range(120)]
    append(intake, "job-kill", items)
    driver.start()
    try:
        while len(recorder.done) < 16:
            time.sleep(0.05)
        ray.kill(actors.write["s0"], no_restart=False)  # dies mid-stream; Ray restarts it
        recorder.wait_for(120)
    finally:
        driver.stop()
    assert recorder.failed == []
    assert intake.job("job-kill").done == 120 and intake.pending_count() == 0
    store = CubeReader(DataPaths(settings.data_dir).cube_db(CUBE))
    stored = [r.id for r in store.list(limit=1000, status=None).items if r.id.startswith("kill-")]
    assert sorted(stored) == sorted(i for i, _ in items)
    lexical = LexicalReader(DataPaths(settings.data_dir).lexical_dir("s0"))
    assert [i for _, i, _ in lexical.search("kill test memory 119 topic 833", [CUBE], 1)] == ["kill-119"]


def test_a_restarted_driver_replays_what_was_pending(ray_pipeline, tmp_path):
    settings, actors = ray_pipeline
    intake = IntakeLog(tmp_path / "intake.db")
    seqs = append(intake, "job-replay", [(f"replay-{i}", f"replayed memory {i}") for i in range(5)])
    intake.close()
    reopened = IntakeLog(tmp_path / "intake.db")  # as after a crash: only the log remembers
    recorder = Recorder()
    driver = driver_for(settings, actors, reopened, recorder)
    driver.start()
    try:
        recorder.wait_for(5)
    finally:
        driver.stop()
    assert sorted(recorder.done) == seqs
    assert reopened.pending_count() == 0


class Named:
    """A listener that writes its name into a shared log for each completion it hears."""

    def __init__(self, name: str, heard: list[tuple[str, tuple[int, ...]]]) -> None:
        self.name, self.heard = name, heard

    def completed(self, c: Completion) -> None:
        self.heard.append((self.name, tuple(c.done)))


class StateSeen:
    """A listener that notes what the intake log says of a completion's entries when it is told."""

    def __init__(self, intake: IntakeLog) -> None:
        self.intake, self.states = intake, []

    def completed(self, c: Completion) -> None:
        self.states += self.intake.state_of(c.done).values()


def test_readers_hear_of_a_batch_before_the_log_says_it_is_done_and_waiters_after(ray_pipeline, tmp_path):
    # A client polling its job must never read "done" while the search readers are still stale.
    settings, actors = ray_pipeline
    intake = IntakeLog(tmp_path / "intake.db")
    readers, waiters, recorder = StateSeen(intake), StateSeen(intake), Recorder()
    driver = PipelineDriver(intake, lambda cube: "s0", StageChain(actors), batch_max=2, linger_ms=0, max_in_flight=1,
                            before_final=[readers], listeners=[waiters, recorder])
    append(intake, "job-final", [(f"final-{i}", f"finality order memory {i}") for i in range(4)])
    driver.start()
    try:
        recorder.wait_for(4)
    finally:
        driver.stop()
    assert readers.states == ["pending"] * 4
    assert waiters.states == ["done"] * 4


def test_listeners_hear_every_batch_in_the_order_they_were_given(ray_pipeline, tmp_path):
    settings, actors = ray_pipeline
    intake = IntakeLog(tmp_path / "intake.db")
    heard: list[tuple[str, tuple[int, ...]]] = []
    recorder = Recorder()
    driver = PipelineDriver(intake, lambda cube: "s0", StageChain(actors), batch_max=2, linger_ms=0, max_in_flight=1,
                            listeners=[Named("readers", heard), Named("waiters", heard), recorder])
    seqs = append(intake, "job-order", [(f"order-{i}", f"listener order memory {i}") for i in range(4)])
    driver.start()
    try:
        recorder.wait_for(4)
    finally:
        driver.stop()
    assert [name for name, _ in heard] == ["readers", "waiters"] * (len(heard) // 2)
    assert heard[0::2] == [("readers", done) for _, done in heard[1::2]]
    assert sorted(s for _, done in heard[0::2] for s in done) == seqs
