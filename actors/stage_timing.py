"""Each stage's time on a batch, carried by the batch itself.

A stage actor runs in a process of its own; asking each one for its figures would be a remote
call per actor per scrape, queued behind the batches it is working on. Instead every stage notes
its rows and seconds in the batch's schema metadata (zero-copy: the columns are shared), the write
stage returns the notes with its answer, and the driver hands them to its listeners with the
batch's completion (`Completion.stages`). Nothing extra crosses a process boundary but a few bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import astuple, dataclass

import orjson
import pyarrow as pa

KEY = b"memos.stage_timings"


@dataclass(frozen=True)
class StageTiming:
    stage: str  # a Stage value of actors/stage_chain.py
    rows: int
    seconds: float
    embedded: int = 0  # texts the model encoded (the embed stages)


def timings_of(batch: pa.RecordBatch) -> list[StageTiming]:
    """The timings the stages before noted in the batch, in the order they ran."""
    raw = (batch.schema.metadata or {}).get(KEY)
    return [StageTiming(*t) for t in orjson.loads(raw)] if raw else []


def with_timings(batch: pa.RecordBatch, timings: list[StageTiming]) -> pa.RecordBatch:
    return batch.replace_schema_metadata({KEY: orjson.dumps([astuple(t) for t in timings])})


def ran(batch: pa.RecordBatch, stage: str) -> bool:
    """Whether `stage` already noted a timing in the batch (the embed pool runs twice in the chain)."""
    return any(t.stage == stage for t in timings_of(batch))


def timed(
    stage: str, batch: pa.RecordBatch, work: Callable[[pa.RecordBatch], pa.RecordBatch],
    embedded: Callable[[pa.RecordBatch, pa.RecordBatch], int] | None = None,
) -> pa.RecordBatch:
    """`work(batch)` with this stage's timing added to those the batch carries.

    `work` sees the batch without the notes, so the pure stage functions never meet them (some
    compare or concatenate schemas)."""
    before = timings_of(batch)
    clean = batch.replace_schema_metadata(None) if before else batch
    start = time.perf_counter()
    out = work(clean)
    took = time.perf_counter() - start
    texts = embedded(clean, out) if embedded is not None else 0
    return with_timings(out, [*before, StageTiming(stage, batch.num_rows, took, texts)])


def timing_rows(batch: pa.RecordBatch, stage: str, seconds: float) -> list[tuple]:
    """The last stage's answer: every timing the batch carries plus its own, as plain tuples."""
    return [astuple(t) for t in [*timings_of(batch), StageTiming(stage, batch.num_rows, seconds)]]


def missing_vectors(batch: pa.RecordBatch) -> int:
    """Rows of a batch without a vector (all of them before the first embed pass)."""
    return batch["vector"].null_count if "vector" in batch.schema.names else batch.num_rows
