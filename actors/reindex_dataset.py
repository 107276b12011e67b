"""A reindex's re-embedding as a Ray Data job: cube files in, vectors into the shard writers.

    read (a task per cube file, chunks of its rows to embed)
      -> map_batches over a fixed pool of embed actors, each holding the model (loaded once in __init__)
      -> the driver hands each embedded batch to its shard's writer actor (placed with that shard's
         files), which stores the vectors in the cube file; the writers rebuild Lance and tantivy after.

Ray Data streams: reads, encodes and stores overlap, and at most a few batches wait between them.
The cube files stay the truth: a job stopped halfway leaves some rows with new vectors and some
with old, and the next run picks up what is left (`rows_to_embed`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from pipeline.embed import REEMBED_SCHEMA, embed_stored, reembed_batch
from pipeline.encoder import load_encoder
from pipeline.reindex_plan import split_by_shard
from storage.cube.reader import CubeReader

log = logging.getLogger(__name__)

READ_CHUNK = 1_024  # rows per block a read task yields
READ_TASKS = 2  # read tasks at once: each is a worker process, and reading keeps pace with the encoders
IN_FLIGHT_PER_SHARD = 4  # stored batches a shard writer may have queued before the driver waits


@dataclass(frozen=True)
class EmbedPool:
    """The Ray Data job's embed actors: the model, how each runs it, and how many there are."""

    model: str
    engine: str
    cache_dir: str
    threads: int
    batch_size: int  # texts per forward pass
    device: str  # the embed_device setting: auto, cpu or cuda
    actors: int
    gpus: float = 0.0
    rows_per_call: int = 512  # texts handed to one actor call (Ray Data's batch_size)


class EmbedBatches:
    """One actor of the pool: the model lives here; each call embeds one Arrow batch."""

    def __init__(self, pool: EmbedPool) -> None:
        self._encoder = load_encoder(pool.model, pool.engine, Path(pool.cache_dir),
                                     threads=pool.threads or os.cpu_count() or 1, batch_size=pool.batch_size,
                                     device=pool.device)

    def __call__(self, table: pa.Table) -> pa.Table:
        if table.num_rows == 0:
            return table
        # Ray Data may hand over several chunks and its own schema metadata; the stage wants one plain batch.
        batch = table.select(REEMBED_SCHEMA.names).cast(REEMBED_SCHEMA).combine_chunks().to_batches()[0]
        return pa.Table.from_batches([embed_stored(batch, self._encoder)])


def read_cubes(items: dict[str, Any], model: str, everything: bool) -> Iterator[pa.Table]:
    """A read task: the rows of its cube files that need a vector, in chunks."""
    for cube, path in zip(items["cube"], items["path"]):
        reader = CubeReader(Path(path))
        try:
            for chunk in reader.rows_to_embed(model, everything, batch_size=READ_CHUNK):
                yield pa.Table.from_batches([reembed_batch(cube, chunk)])
        finally:
            reader.close()


def reembed_dataset(cubes: Sequence[tuple[str, Path]], pool: EmbedPool, everything: bool) -> ray.data.Dataset:
    """The lazy dataset of (cube, id, index_text, vector) rows: nothing runs until it is iterated."""
    items = [{"cube": cube, "path": str(path)} for cube, path in cubes]
    ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    # Reading is cheap next to encoding: a read task asks for no CPU, so it never waits on the pool's.
    ds = ds.map_batches(read_cubes, batch_size=1, batch_format="numpy", num_cpus=0,
                        compute=ray.data.TaskPoolStrategy(size=min(READ_TASKS, len(items) or 1)),
                        fn_kwargs={"model": pool.model, "everything": everything})
    # Ray Data spreads an actor pool over the nodes by itself (DataContext.scheduling_strategy is
    # "SPREAD"); naming it again was a deprecated remote argument and a warning on every reindex.
    return ds.map_batches(EmbedBatches, fn_constructor_args=(pool,), batch_size=pool.rows_per_call,
                          batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=pool.actors),
                          num_cpus=0.5, num_gpus=pool.gpus or None)


@dataclass
class StreamTotals:
    rows: int = 0
    stored: int = 0
    seconds: float = 0.0


def quiet_data_context() -> None:
    """Ray Data's own progress bars, and the progress lines it logs every few seconds without
    them, say what the caller shows already (a rich bar in `memos reindex`, job progress online)."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def stream_to_writers(
    ds: ray.data.Dataset,
    writers: Mapping[str, Any],
    shard_of: Mapping[str, str],
    on_rows: Callable[[int], None],
) -> StreamTotals:
    """Iterate the dataset, sending each shard's rows to its writer's `store_vectors`.

    Each writer has at most IN_FLIGHT_PER_SHARD batches queued: the stores keep pace with the
    encoders without the driver holding the whole corpus."""
    quiet_data_context()
    start = time.perf_counter()
    totals = StreamTotals()
    pending: dict[str, list[ray.ObjectRef]] = {shard: [] for shard in writers}
    for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        for shard, part in split_by_shard(table, shard_of).items():
            queue = pending[shard]
            if len(queue) >= IN_FLIGHT_PER_SHARD:
                totals.stored += ray.get(queue.pop(0))
            queue.append(writers[shard].store_vectors.remote(part))
        totals.rows += table.num_rows
        on_rows(table.num_rows)
    for queue in pending.values():
        totals.stored += sum(ray.get(queue))
    totals.seconds = time.perf_counter() - start
    return totals
