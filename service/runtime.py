"""One front door's running parts, started in order and stopped in reverse.

start(): data dir, intake log and registry; Ray and the stage actors while the query model loads;
the read side; then the driver (which replays whatever the intake log still holds pending) and
the group committer. Nothing here runs at import time.
"""

from __future__ import annotations

import gc
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import ray

from actors import cluster
from actors.pipeline_driver import Completion, PipelineDriver
from actors.stage_chain import StageChain
from configs import Settings
from pipeline.encoder import ensure_onnx, model_spec
from service.access import Access
from service.activity import Activity
from service.analytics import Analytics
from service.auth import Authenticator
from service.backlog import BacklogGate
from service.cleanup import CleanupService
from service.cubes import CubeService
from service.group_commit import GroupCommitter
from service.episode_listing import EpisodeListing
from service.episodes import EpisodeService
from service.feedback import FeedbackService
from service.graph import GraphService
from service.identities import Identities
from service.images import ImageService
from service.intake_ops import IntakeOps
from service.interchange import InterchangeService
from service.jobs import JobService
from service.links import LinkService
from service.locate import CubeLocator
from service.memories import MemoryService
from service.metrics import Figures, PrefetchCounts, ServerMetrics
from service.skills import SkillService
from service.team.team import Team
from service.prefetch import Prefetcher
from service.personas import PersonaService
from service.purge import BLOB_GRACE_S, PurgeQueue, PurgeWorker
from service.query_embedder import QueryEmbedder
from storage.read_side import ReadSide, VectorTuning
from service.reindex import Reindexer, plan_by_shard, reembed_pool
from service.hybrid_search import SearchService
from service.governance_report import GovernanceReport
from service.retention import RetentionService
from service.sweeper import Sweeper
from service.world_view import WorldView
from service.write_tracker import ReaderRefresh, WriteTracker
from storage.api_keys import ApiKeys
from storage.audit_log import AuditLog
from storage.cube.writer import migrate_file
from storage.intake_log import IntakeLog
from storage.lifecycle_store import LifecycleStore
from storage.paths import DataPaths
from storage.registry import Cube, Registry

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = DataPaths(settings.data_dir)
        self.started_at = time.time()
        self.ready = False
        # Built before start: the front door's middleware records requests from the first one on.
        self.metrics = ServerMetrics(self._figures)

    def start(self) -> None:
        s = self.settings
        self.paths.ensure()
        self.intake = IntakeLog(self.paths.intake_db)
        self.registry = Registry(self.paths.registry_db, s.n_shards)
        self.keys = ApiKeys(self.paths.registry_db)
        self.audit = AuditLog(self.paths.registry_db)
        self.lifecycle = LifecycleStore(self.paths.registry_db)  # retention rules, retrieval counts
        for cube in self.registry.all():  # reads name every column the newest cube migration added
            if self.paths.cube_db(cube.id).exists():
                migrate_file(self.paths.cube_db(cube.id))
        self.auth = Authenticator(self.keys, s.host)
        self.access = Access(self.registry)
        dim = model_spec(s.embed_model).dim
        if s.embed_engine == "onnx":
            ensure_onnx(model_spec(s.embed_model), s.models_dir)  # once per data dir, before anyone loads it
        shards = self.registry.shards()
        with ThreadPoolExecutor(1) as pool:
            # The front door exports the ONNX model (once) before the actors look for it.
            embedder = pool.submit(QueryEmbedder, s.embed_model, s.embed_engine, s.models_dir, s.query_threads,
                                   s.query_cache_size)
            cluster.connect(s)
            self.actors = cluster.spawn(s, shards, dim)
            self.embedder = embedder.result()
        self._rebuild_stale_indexes(shards)
        self.read = ReadSide(self.paths, dim, VectorTuning(
            hot_max_bytes=s.hot_vectors_max_mb * 1024 * 1024, hot_ivf_min_rows=s.hot_ivf_min_rows,
            hot_ivf_probes=s.hot_ivf_probes, ann_nprobes=s.ann_nprobes, ann_refine_factor=s.ann_refine_factor,
        ))
        for shard in shards:
            self.read.open_shard(shard)
        self.tracker = WriteTracker(self.intake)
        self.chain = StageChain(self.actors)
        self.purge_queue = PurgeQueue(s.purge_after_s)  # hears of deletions; the purge worker scrubs after them
        self.prefetcher = Prefetcher(self.actors.prefetch, self.read, self.embedder.embed,
                                     s.prefetch_pool_max) if s.prefetch else None
        self.driver = PipelineDriver(
            self.intake,
            self.registry.shard_of,
            self.chain,
            batch_max=s.batch_max_items,
            linger_ms=s.batch_linger_ms,
            max_in_flight=s.max_in_flight_batches,
            # Readers and the pools of memories held ready go stale before the intake log says done:
            # a woken request, or a client reading its job, must find the write searchable.
            before_final=[ReaderRefresh(self.read), *([self.prefetcher] if self.prefetcher else [])],
            listeners=[self.tracker, self.metrics, self.purge_queue],
        )
        self.committer = GroupCommitter(self.intake, on_commit=self.driver.wake)
        self.locate = CubeLocator(self.access, self.read, self.intake)
        self.backlog = BacklogGate(self.intake.pending_count, s.intake_backlog_max)
        self.ops = IntakeOps(self.intake, self.committer, self.tracker, s.wait_timeout_s, self.backlog)
        self.activity = Activity()  # recent writes and searches, for the web UI's Overview
        self.images = ImageService(s, self.paths, self.locate, self.read, self.intake)
        self.memories = MemoryService(s, self.access, self.locate, self.ops, self.intake, self.read, self.audit,
                                      on_write=self._record("write"), images=self.images)
        self.purger = PurgeWorker(self.purge_queue, self.intake, self.driver, self.chain, self.actors.write, self.read,
                                  self.audit, lambda: plan_by_shard(self.registry, self.paths),
                                  lambda cube: self.images.remove_unreferenced(cube, BLOB_GRACE_S))
        self.jobs = JobService(self.intake)
        self.search = SearchService(s, self.access, self.read, self.embedder, on_search=self._record("search"),
                                    on_searched=self.activity.searched, on_timings=self.metrics.searched,
                                    on_retrieved=self.lifecycle.retrieved,
                                    prefetched=self.prefetcher.ready if self.prefetcher else lambda *search: None)
        self.episodes = EpisodeService(self.access, self.locate, self.ops, self.read)
        self.skills = SkillService(self.access, self.locate, self.read)
        self.personas = PersonaService(self.access, self.memories)
        self.feedback = FeedbackService(self.locate, self.ops, self.read)
        self.links = LinkService(self.locate, self.ops, self.read)
        self.graph = GraphService(self.locate, self.read)
        self.cubes = CubeService(self.registry, self.access, self.audit, self.read, self._drop_cube)
        # Read models only the web UI shows (api/web/), and key management for its Settings page.
        self.analytics = Analytics(self.access, self.paths)
        self.episode_list = EpisodeListing(self.access, self.paths)
        self.world = WorldView(self.access, self.read)
        self.identities = Identities(self.keys, self.audit, self.auth, self.registry)
        self.interchange = InterchangeService(self.paths, self.access, self.intake, self.audit, self.chain,
                                              s.embed_model, dim, self.read.mark_dirty, images=self.images)
        # Team sharing (docs/team.md): the hub, the member side, the LAN announcement.
        self.team = Team(s, self.paths, self.registry, self.access, self.chain, s.embed_model, dim, self.embedder,
                         self.read.mark_dirty)
        self.reindexer = Reindexer(
            self.paths, self.registry, self.intake, self.chain, self.driver, reembed_pool(s), self.read.mark_dirty
        )
        # Lifecycle (docs/governance.md): bulk cleanup, retention rules, the report, the sweeper.
        self.cleanup = CleanupService(s, self.access, self.paths, self.read, self.ops, self.audit, self.lifecycle)
        self.retention = RetentionService(self.access, self.paths, self.read, self.ops, self.audit, self.lifecycle)
        self.governance = GovernanceReport(self.access, self.paths, self.read, self.lifecycle)
        self.sweeper = Sweeper(s.sweep_interval_s, self.registry, self.paths, self.intake, self.ops, self.audit,
                               self.lifecycle, self.retention)
        if self.prefetcher is not None:
            self.prefetcher.start()
        self.driver.start()
        self.committer.start()
        self.team.start()
        self.sweeper.start()
        self.purger.start(self.registry.shard_of)
        # What exists now (modules, models, Ray, caches) lives as long as the server: frozen, full
        # collections stop walking it (one took 272 ms under load before).
        gc.collect()
        gc.freeze()
        self.ready = True
        host = f"[{s.host}]" if ":" in s.host else s.host
        log.info("memos ready on http://%s:%d", host, s.port)
        log.info("data dir: %s (%d pending entries to replay)", s.data_dir, self.intake.pending_count())
        log.info("model: %s (%s)", s.embed_model, s.embed_engine)
        log.info("auth: %s", self.auth.describe())

    def _rebuild_stale_indexes(self, shards: list[str]) -> None:
        """Indexes written by an older schema are started afresh by their writer; refill them from SQLite."""
        stale = [sh for sh in shards if ray.get(self.actors.write[sh].needs_rebuild.remote())]
        plan = plan_by_shard(self.registry, self.paths) if stale else {}
        for shard in stale:
            log.warning("shard %s: index schema changed, rebuilding from the cube files", shard)
            ray.get(self.actors.write[shard].rebuild.remote(plan.get(shard, [])))

    def _figures(self) -> Figures | None:
        """What `GET /metrics` reads at scrape time; None until the runtime serves."""
        if not self.ready:
            return None
        p = self.prefetcher
        return Figures(
            pending=self.intake.pending_count(), pending_jobs=self.intake.pending_jobs(),
            in_flight_batches=self.driver.in_flight, batches_done=self.driver.batches_done,
            hot_vector_bytes=self.read.hot_bytes(), hot_cubes=len(self.read.hot_cubes()), warming=self.read.warming(),
            uptime_s=round(time.time() - self.started_at, 1),
            prefetch=PrefetchCounts(p.hits, p.misses, p.warmed, len(p.held())) if p is not None else None,
        )

    def _record(self, kind: str):
        def record(agent: str, cubes: list[str]) -> None:
            self.activity.record(kind, agent, cubes)
            if self.prefetcher is not None:
                self.prefetcher.record(agent, cubes, kind)

        return record

    def _drop_cube(self, cube: Cube) -> None:
        """Remove a deleted cube everywhere, with the pipeline paused so no write recreates it."""
        self.driver.pause()
        try:
            failed = self.intake.fail_pending_for_cube(cube.id, "not_found", f"cube {cube.id} was deleted")
            ray.get([
                self.actors.write[cube.shard].drop_cube.remote(cube.id),
                self.actors.dedupe[cube.shard].forget_cube.remote(cube.id),
                self.actors.crystallize[cube.shard].forget_cube.remote(cube.id),
            ])
            self.read.forget_cube(cube.id)
            self.images.blobs.remove_all(cube.id)  # its image bytes go with it (docs/images.md)
            self.driver.announce(Completion(cube.shard, [], failed, [cube.id]))
            self.purge_queue.cube_dropped(cube.id, cube.shard)
        finally:
            self.driver.resume()

    def stop(self) -> None:
        self.ready = False
        stop_prefetch = self.prefetcher.stop if self.prefetcher is not None else (lambda: None)
        stop_team = self.team.stop if hasattr(self, "team") else (lambda: None)
        steps = (stop_team, self.sweeper.stop, self.committer.stop, stop_prefetch, self.purger.stop, self.driver.stop, self.read.close, cluster.shutdown, self.intake.close,
                 self.registry.close, self.keys.close, self.audit.close, self.lifecycle.close)
        for step in steps:
            try:
                step()
            except Exception:  # keep stopping the rest; the log says what failed
                log.exception("error while stopping %s", getattr(step, "__qualname__", step))
