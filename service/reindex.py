"""Reindex as a Ray job: rebuild every shard's Lance table and tantivy index from the SQLite files.

With `reembed`, vectors from another model (or all, with `everything`) are recomputed first, as a
Ray Data job (actors/reindex_dataset.py): the cube files are read, a fixed pool of embed actors
holding the model encodes the stored text in `map_batches`, and each shard's writer stores the
vectors in the files, which stay the truth. Parse, extract, dedupe and crystallize are not run:
those rows went through them when first written. Then each shard writer rebuilds its indexes from
the files. `memos reindex --offline` and the server's `POST /v1/reindex` run this same function;
online, writes keep being accepted meanwhile and wait in the intake log while the pipeline is
paused, flowing once it resumes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import ray

from actors.pipeline_driver import PipelineDriver
from actors.reindex_dataset import EmbedPool, reembed_dataset, stream_to_writers
from actors.stage_chain import Stage, StageChain
from configs import Settings
from pipeline.errors import Conflict
from pipeline.ids import new_job_id
from pipeline.reindex_plan import ReindexReport
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


def reembed_pool(settings: Settings) -> EmbedPool:
    """The reindex job's embed actors, as the settings describe the live pool's."""
    return EmbedPool(settings.embed_model, settings.embed_engine, str(settings.models_dir), settings.embed_threads,
                     settings.embed_batch_size, settings.embed_device, settings.reindex_actors or settings.embed_actors,
                     settings.embed_gpus)


def reembed_shards(
    paths: DataPaths, writers: Mapping[str, Any], plan: dict[str, list[str]], pool: EmbedPool, everything: bool,
    on_rows: Callable[[int], None],
) -> int:
    """New vectors for every cube's rows that need one, stored by each shard's writer; how many."""
    shard_of = {cube: shard for shard, cubes in plan.items() for cube in cubes}
    cubes = [(cube, paths.cube_db(cube)) for cube in shard_of]
    if not cubes:
        return 0
    totals = stream_to_writers(reembed_dataset(cubes, pool, everything), writers, shard_of, on_rows)
    return totals.stored


def run_reindex(
    paths: DataPaths,
    registry: Registry,
    writers: Mapping[str, Any],
    pool: EmbedPool,
    *,
    reembed: bool,
    everything: bool,
    progress: Callable[[str, int], None],
    on_rows: Callable[[int], None] = lambda n: None,
    reembedded: Callable[[list[str]], None] = lambda shards: None,
) -> ReindexReport:
    """Rebuild all shards with their writer actors (`writers`, shard -> ShardWriter); `progress(shard,
    cubes)` is called as each shard finishes, `on_rows(n)` as re-embedded rows are stored, and
    `reembedded(shards)` once every new vector is in the files."""
    report = ReindexReport()
    start = time.perf_counter()
    plan = plan_by_shard(registry, paths)
    if reembed:
        report.reembedded = reembed_shards(paths, writers, plan, pool, everything, on_rows)
        reembedded(list(plan))
    report.embed_seconds = time.perf_counter() - start
    refs = {shard: writers[shard].rebuild.remote(cubes) for shard, cubes in plan.items()}
    for shard, ref in refs.items():
        out = ray.get(ref)
        report.shards += 1
        report.cubes += out["cubes"]
        report.vectors += out["vectors"]
        report.documents += out["documents"]
        report.rebuilt.append(shard)
        progress(shard, out["cubes"])
    report.seconds = time.perf_counter() - start
    report.rebuild_seconds = report.seconds - report.embed_seconds
    return report


class Reindexer:
    """Runs one reindex at a time in the background of a serving front door, as a job."""

    def __init__(
        self,
        paths: DataPaths,
        registry: Registry,
        intake: IntakeLog,
        chain: StageChain,
        driver: PipelineDriver,
        pool: EmbedPool,
        on_shard_done: Callable[[str], None],
    ) -> None:
        self._paths, self._registry, self._intake = paths, registry, intake
        self._chain, self._driver, self._pool = chain, driver, pool
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

    def _reset_dedupe(self, shards: list[str]) -> None:
        """The dedupe stage compares new rows with the vectors it has seen: those are stale now."""
        ray.get([self._chain.actor(Stage.DEDUPE, shard).reset.remote() for shard in shards])

    def _run(self, job_id: str, reembed: bool, everything: bool) -> None:
        def progress(shard: str, cubes: int) -> None:
            self._on_shard_done(shard)
            self._intake.advance_job(job_id, 1)

        try:
            self._driver.pause()
            writers = {shard: self._chain.actor(Stage.WRITE, shard) for shard in self._registry.shards()}
            report = run_reindex(self._paths, self._registry, writers, self._pool, reembed=reembed,
                                 everything=everything, progress=progress, reembedded=self._reset_dedupe)
            log.info("reindex %s finished: %s", job_id, report.to_json())
        except Exception as exc:  # recorded on the job; the indexes keep their previous state
            log.exception("reindex %s failed", job_id)
            self._intake.fail_job(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            self._driver.resume()
            with self._lock:
                self._running = None
