"""The embed stage as a Ray actor: holds the model (loaded once), embeds whole batches."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from actors.stage_timing import missing_vectors, ran, timed
from pipeline.embed import embed_batch
from pipeline.encoder import load_encoder


class EmbedStage:
    def __init__(
        self, model: str, engine: str, cache_dir: str, threads: int, batch_size: int, nice: int, device: str = "cpu"
    ) -> None:
        if nice:
            # Ingest yields the CPU to the front door: bursts wait in the intake log, not in accept.
            os.nice(nice)
        # Ray sets OMP_NUM_THREADS to the actor's CPU share (1); the model should use every core.
        self._encoder = load_encoder(model, engine, Path(cache_dir), threads=threads or os.cpu_count() or 1,
                                     batch_size=batch_size, device=device)

    def ready(self) -> bool:
        return True

    def device(self) -> str:
        """Where the model runs (cpu or cuda), as chosen on this actor's node."""
        return getattr(self._encoder, "device", "cpu")

    def embed(self, batch: pa.RecordBatch, given: Mapping[str, Sequence[float]] | None = None) -> pa.RecordBatch:
        """Vectors for the rows that need one and have none; `given` are an import file's own."""
        stage = "embed_derived" if ran(batch, "embed") else "embed"  # the chain's second pass through this pool
        return timed(stage, batch, lambda b: embed_batch(b, self._encoder, given),
                     embedded=lambda b, out: missing_vectors(b) - missing_vectors(out))
