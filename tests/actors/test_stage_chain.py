"""The stage chain: its declaration names real actors and methods, and each route runs what it says."""

from __future__ import annotations

import inspect

import pyarrow as pa
import ray

from actors.crystallize_actor import CrystallizeStage
from actors.dedupe_actor import DedupeStage
from actors.embed_actor import EmbedStage
from actors.extract_actor import ExtractStage
from actors.parse_actor import ParseStage
from actors.stage_chain import CHAIN, IMPORT, LIVE, Stage, StageChain, may_derive
from actors.write_actor import ShardWriter
from storage.cube.reader import CubeReader
from storage.paths import DataPaths
from tests.builders import draft, intake_batch

ACTOR_CLASSES = {"parse": ParseStage, "extract": ExtractStage, "embed": EmbedStage, "dedupe": DedupeStage,
                 "crystallize": CrystallizeStage, "write": ShardWriter}
CUBE = "agent-chain"
TASK = "Deploy the api service with tag v1.2"


def test_every_stage_and_route_names_a_method_its_actor_has():
    for route in (LIVE, IMPORT):
        for spec in route.stages():
            method = route.methods.get(spec.stage, spec.method)
            assert inspect.isfunction(getattr(ACTOR_CLASSES[spec.actors], method, None)), (route.name, spec.stage)
    for spec in CHAIN:
        if spec.keeps_state:
            assert callable(getattr(ACTOR_CLASSES[spec.actors], "reset", None)), spec.stage


def test_what_each_route_runs_is_declared():
    every = [spec.stage for spec in CHAIN]
    assert every == [Stage.PARSE, Stage.EXTRACT, Stage.EMBED, Stage.DEDUPE, Stage.CRYSTALLIZE, Stage.EMBED_DERIVED,
                     Stage.WRITE]
    assert [s.stage for s in LIVE.stages()] == every and [s.stage for s in IMPORT.stages()] == every


def test_only_episode_and_feedback_batches_reach_the_second_embed_pass():
    adds = intake_batch([("add", draft("a", "x")), ("delete", draft("b", "y"))])
    closes = intake_batch([("add", draft("a", "x")), ("episode", {"id": "ep", "cube": CUBE, "agent": "a"})])
    assert (may_derive(adds), may_derive(closes)) == (False, True)


def episode_batch() -> pa.RecordBatch:
    base = {"cube": CUBE, "agent": "chain"}
    calls = [{"name": "build_image", "arguments": {"service": "api"}, "status": "ok"},
             {"name": "rollout", "arguments": {"service": "api"}, "status": "ok"}]
    return intake_batch([
        ("episode", {"id": "ep-chain", **base, "action": "open", "task": TASK, "at": 1_700_000_000_000}),
        *[("add", draft(f"ep-chain-{i}", call["name"], cube=CUBE, agent="chain", kind="tool_call", tool=call,
                        episode="ep-chain")) for i, call in enumerate(calls)],
        ("episode", {"id": "ep-chain", **base, "action": "close", "outcome": "success", "task": TASK,
                     "at": 1_700_000_100_000}),
    ], first_seq=1001)


def test_a_closing_episode_is_summarized_and_embedded_with_no_actor_waiting_on_another(ray_pipeline, encoder):
    settings, actors = ray_pipeline
    out = ray.get(StageChain(actors).submit(episode_batch(), "s0"))
    assert out["failed"] == [] and sorted(out["done"]) == [1001, 1002, 1003, 1004]

    store = CubeReader(DataPaths(settings.data_dir).cube_db(CUBE))
    try:
        (episode,) = store.episode_rows(closed=True, limit=10)
        summary = store.get("summary-ep-chain")
        vectors = store.embeddings(["summary-ep-chain"])
    finally:
        store.close()
    # The close's task vector (first embed pass) is stored with the episode, for grouping after a restart.
    assert float(episode["task_vector"] @ encoder.encode([TASK])[0]) > 0.999
    # The summary crystallize made got its vector from the second embed pass.
    assert summary is not None and summary.kind == "summary"
    assert float(vectors["summary-ep-chain"] @ encoder.encode([summary.content])[0]) > 0.999
