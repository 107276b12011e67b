"""Reindex as a Ray job: rebuild every shard's Lance table and tantivy index from the SQLite files.

With `reembed`, vectors from another model (or all, with `everything`) are recomputed first: the
stored rows go through the stage chain's REINDEX route (actors/stage_chain.py: the embed pool, then
the shard writer stores the vectors in the files, which stay the truth; parse, extract, dedupe
and crystallize are skipped, as those rows went through them when first written). Writes keep being accepted
meanwhile; they wait in the intake log while the pipeline is paused, and flow once it resumes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import ray

from actors.pipeline_driver import PipelineDriver
from actors.stage_chain import REINDEX, Stage, StageChain
from pipeline.embed import reembed_batch
from pipeline.errors import Conflict
from pipeline.ids import new_job_id
from storage.cube.reader import CubeReader
from storage.intake_log import IntakeLog
from storage.paths import DataPaths
from storage.registry import Registry

log = logging.getLogger(__name__)


def plan_by_shard(registry: Registry, paths: DataPaths) -> dict[str, list[str]]:
    """Cubes that have a file, grouped by the shard they live in."""
    plan: dict[str, list[str]] = {shard: [] for shard in registry.shards()}
    for cube in registry.all():
        if paths.cube_db(cube.id).exists():
            plan.setdefault(cube.shard, []).append(cube.id)
    return plan


def reembed_cube(paths: DataPaths, chain: StageChain, shard: str, cube: str, model: str, everything: bool) -> int:
    """Stream the cube's rows through the embed pool and store the vectors via the shard writer."""
    store = CubeReader(paths.cube_db(cube))
    pending: list = []
    n = 0
    try:
        for chunk in store.rows_to_embed(model, everything):
            pending.append(chain.submit(reembed_batch(cube, chunk), shard, REINDEX))
            n += len(chunk)
            if len(pending) >= 2 * chain.width(Stage.EMBED):
                ray.get(pending.pop(0))
        ray.get(pending)
    finally:
        store.close()
    return n


def run_reindex(
    paths: DataPaths,
    registry: Registry,
    chain: StageChain,
    model: str,
    *,
    reembed: bool,
    everything: bool,
    progress: Callable[[str, int], None],
) -> dict[str, int]:
    """Rebuild all shards; `progress(shard, cubes)` is called as each shard finishes."""
    totals = {"shards": 0, "cubes": 0, "vectors": 0, "documents": 0, "reembedded": 0}
    plan = plan_by_shard(registry, paths)
    if reembed:
        for shard, cubes in plan.items():
            for cube in cubes:
                totals["reembedded"] += reembed_cube(paths, chain, shard, cube, model, everything)
        # The dedupe stage compares new rows with the vectors it has seen: those are stale now.
        ray.get([chain.actor(Stage.DEDUPE, shard).reset.remote() for shard in plan])
    refs = {shard: chain.actor(Stage.WRITE, shard).rebuild.remote(cubes) for shard, cubes in plan.items()}
    for shard, ref in refs.items():
        out = ray.get(ref)
        totals["shards"] += 1
        for key in ("cubes", "vectors", "documents"):
            totals[key] += out[key]
        progress(shard, out["cubes"])
    return totals


class Reindexer:
    """Runs one reindex at a time in the background of a serving front door, as a job."""

    def __init__(
        self,
        paths: DataPaths,
        registry: Registry,
        intake: IntakeLog,
        chain: StageChain,
        driver: PipelineDriver,
        model: str,
        on_shard_done: Callable[[str], None],
    ) -> None:
        self._paths, self._registry, self._intake = paths, registry, intake
        self._chain, self._driver, self._model = chain, driver, model
        self._on_shard_done = on_shard_done
        self._lock = threading.Lock()
        self._running: str | None = None

    def start(self, agent: str, *, reembed: bool, everything: bool) -> str:
        with self._lock:
            if self._running is not None:
                raise Conflict(f"a reindex is already running as job {self._running}")
            job_id = new_job_id()
            # Progress counts shards: there is always at least one, and each finishes atomically.
            total = len(plan_by_shard(self._registry, self._paths))
            self._intake.append([(job_id, agent, "reindex", total)], [])
            self._running = job_id
        threading.Thread(target=self._run, args=(job_id, reembed, everything), name="reindex", daemon=True).start()
        return job_id

    def _run(self, job_id: str, reembed: bool, everything: bool) -> None:
        def progress(shard: str, cubes: int) -> None:
            self._on_shard_done(shard)
            self._intake.advance_job(job_id, 1)

        try:
            self._driver.pause()
            totals = run_reindex(self._paths, self._registry, self._chain, self._model,
                                 reembed=reembed, everything=everything, progress=progress)
            log.info("reindex %s finished: %s", job_id, totals)
        except Exception as exc:  # recorded on the job; the indexes keep their previous state
            log.exception("reindex %s failed", job_id)
            self._intake.fail_job(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            self._driver.resume()
            with self._lock:
                self._running = None
