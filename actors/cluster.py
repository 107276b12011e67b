"""Starting or joining Ray, and placing the stage actors: pools for parse, extract and embed; dedupe,
crystallize and write one per shard; one prefetch actor."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

import ray
from ray._private import ray_constants

from actors.crystallize_actor import CrystallizeStage
from actors.dedupe_actor import DedupeStage
from actors.embed_actor import EmbedStage
from actors.extract_actor import ExtractStage
from actors.parse_actor import ParseStage
from actors.prefetch_actor import PrefetchStage
from actors.write_actor import ShardWriter
from configs import Settings
from pipeline.context import ContextWindow

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


@dataclass
class StageActors:
    parse: list[Any]
    extract: list[Any]
    embed: list[Any]
    dedupe: dict[str, Any]
    crystallize: dict[str, Any]
    write: dict[str, Any]
    prefetch: Any

    def all(self) -> list[Any]:
        return [*self.parse, *self.extract, *self.embed, *self.dedupe.values(), *self.crystallize.values(),
                *self.write.values(), self.prefetch]


def namespace(settings: Settings) -> str:
    """Front doors that share a data directory share actors; others stay apart."""
    return "memos-" + hashlib.sha1(str(settings.data_dir).encode()).hexdigest()[:12]


# Two warnings every local start printed that ask nothing of the user: the runtime starts Ray off the
# main thread, and SIGTERM is uvicorn's (its shutdown stops the runtime, Ray included); and Ray's token
# auth is on by default for a local cluster, which it announces.
_START_NOTICES = {
    "ray._private.worker": "SIGTERM handler is not set",
    "ray._private.authentication.authentication_token_setup": "Token authentication is enabled",
}
# lancedb warns at every fork once it is loaded; Ray's start forks only to exec its own processes at once.
_FORK_WARNING = "lancedb fork support is experimental"


def _drop_start_notices(record: logging.LogRecord) -> bool:
    expected = _START_NOTICES.get(record.name)
    return expected is None or not record.getMessage().startswith(expected)


def connect(settings: Settings) -> None:
    """Join the cluster at `ray_address`, or start a local Ray that listens on loopback only."""
    if ray.is_initialized():
        return
    common: dict[str, Any] = {"namespace": namespace(settings), "log_to_driver": False}
    if settings.ray_address:
        ray.init(address=settings.ray_address, **common)
        return
    # Ray turns a loopback node address into the machine's outward one, and the GCS, raylet, object
    # manager and workers then listen on every interface, while our HTTP binds loopback. Ray's
    # single-machine mode (its default on macOS and Windows) keeps the node on 127.0.0.1, so every
    # one of those ports does too. Only while this node starts: a cluster join above is untouched.
    cluster_mode = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    notices = [logging.getLogger(name) for name in _START_NOTICES]
    for logger in notices:
        logger.addFilter(_drop_start_notices)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_FORK_WARNING, category=RuntimeWarning)
            ray.init(
                # "local": never join a cluster some `ray start` on this machine left recorded in /tmp/ray.
                address="local",
                num_cpus=settings.ray_num_cpus or os.cpu_count(),
                include_dashboard=False,
                object_store_memory=settings.ray_object_store_mb * 1024 * 1024,
                _node_ip_address=LOOPBACK,
                **common,
            )
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = cluster_mode
        for logger in notices:
            logger.removeFilter(_drop_start_notices)


def _options(
    settings: Settings, name: str, num_cpus: float, *, near_data: bool = False, shard: str | None = None
) -> dict[str, Any]:
    opts: dict[str, Any] = {"num_cpus": num_cpus, "max_restarts": -1, "max_task_retries": 0, "name": name}
    if settings.ray_address:
        # On a shared cluster several front doors use the same shard actors.
        opts.update(lifetime="detached", get_if_exists=True)
    resources = data_resources(settings, shard) if near_data else {}
    if resources:
        opts["resources"] = resources
    return opts


def data_resources(settings: Settings, shard: str | None) -> dict[str, float]:
    """The custom resources that pin an actor to the node holding its data: the data node's, and
    with `ray_shard_resource` its shard's own (so each shard's writer runs beside that shard's files)."""
    out: dict[str, float] = {}
    if settings.ray_data_resource:
        out[settings.ray_data_resource] = 0.001
    if shard is not None and settings.ray_shard_resource:
        out[settings.ray_shard_resource.format(shard=shard)] = 0.001
    return out


def embed_options(settings: Settings, opts: dict[str, Any]) -> dict[str, Any]:
    """An embed actor's options (`opts`, its CPUs among them) spread over the nodes rather than
    packed on one, with `embed_gpus` GPUs each."""
    opts = {**opts, "scheduling_strategy": "SPREAD"}
    if settings.embed_gpus:
        opts["num_gpus"] = settings.embed_gpus
    return opts


def context_window(settings: Settings) -> ContextWindow:
    return ContextWindow(settings.context_before, settings.context_after, settings.context_gap_s * 1000)


def spawn(settings: Settings, shards: list[str], dim: int) -> StageActors:
    data_dir = str(settings.data_dir)
    model = settings.embed_model
    embed = [
        ray.remote(EmbedStage)
        .options(**embed_options(settings, _options(settings, f"embed-{i}", 1)))
        .remote(model, settings.embed_engine, str(settings.models_dir), settings.embed_threads,
                settings.embed_batch_size, settings.embed_nice, settings.embed_device)
        for i in range(settings.embed_actors)
    ]
    actors = StageActors(
        parse=[ray.remote(ParseStage).options(**_options(settings, "parse-0", 0, near_data=True))
               .remote(model, data_dir, settings.image_ocr, settings.ocr_timeout_s)],  # reads image blobs (OCR)
        extract=[
            ray.remote(ExtractStage)
            .options(**_options(settings, "extract-0", 0))
            .remote(model, settings.world_model, settings.llm_url, settings.llm_model, settings.llm_api_key,
                    settings.extract_nice, settings.world_skip_roles)
        ],
        embed=embed,
        dedupe={
            shard: ray.remote(DedupeStage)
            .options(**_options(settings, f"dedupe-{shard}", 0, near_data=True, shard=shard))
            .remote(data_dir, dim, settings.near_duplicate_threshold, settings.near_duplicate_max_cube)
            for shard in shards
        },
        crystallize={
            shard: ray.remote(CrystallizeStage)
            .options(**_options(settings, f"crystallize-{shard}", 0, near_data=True, shard=shard))
            .remote(data_dir, model, settings.skill_min_support)
            for shard in shards
        },
        write={
            shard: ray.remote(ShardWriter)
            .options(**_options(settings, f"write-{shard}", 0, near_data=True, shard=shard))
            .remote(data_dir, shard, dim, model, settings.lance_compact_every, settings.ann_min_rows,
                    context_window(settings))
            for shard in shards
        },
        prefetch=ray.remote(PrefetchStage)
        .options(**_options(settings, "prefetch", 0, near_data=True))
        .remote(data_dir, settings.prefetch_half_life_s, settings.prefetch_top_cubes),
    )
    ray.get([a.ready.remote() for a in actors.all()])
    log.info("pipeline actors ready: %d shard(s), %d embedder(s)", len(shards), len(actors.embed))
    return actors


def spawn_writers(settings: Settings, shards: list[str], dim: int) -> dict[str, Any]:
    """Only the shard writers (an offline reindex needs no other stage), placed as `spawn` places them."""
    writers = {
        shard: ray.remote(ShardWriter)
        .options(**_options(settings, f"write-{shard}", 0, near_data=True, shard=shard))
        .remote(str(settings.data_dir), shard, dim, settings.embed_model, settings.lance_compact_every,
                settings.ann_min_rows, context_window(settings))
        for shard in shards
    }
    ray.get([w.ready.remote() for w in writers.values()])
    return writers


def reset_dedupe(shards: list[str]) -> None:
    """Reload the dedupe state of the shards' running dedupe actors (the detached ones a cluster keeps
    for its servers) from the files; where none runs, the next one loads the files at start."""
    for shard in shards:
        try:
            actor = ray.get_actor(f"dedupe-{shard}")
        except ValueError:
            continue
        ray.get(actor.reset.remote())


def shutdown() -> None:
    if ray.is_initialized():
        ray.shutdown()
