"""The dedupe stage as a Ray actor, one per shard: it must see every mutation of its shard, in order."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from actors.stage_timing import timed
from pipeline.dedupe import dedupe_batch
from storage.dedupe_index import DedupeIndex
from storage.paths import DataPaths


class DedupeStage:
    def __init__(self, data_dir: str, dim: int, threshold: float, max_vectors: int) -> None:
        self._index = DedupeIndex(DataPaths(Path(data_dir)), dim, max_vectors=max_vectors)
        self._threshold = threshold

    def ready(self) -> bool:
        return True

    def dedupe(self, batch: pa.RecordBatch, near: bool = True) -> pa.RecordBatch:
        return timed("dedupe", batch, lambda b: self._dedupe(b, near))

    def _dedupe(self, batch: pa.RecordBatch, near: bool) -> pa.RecordBatch:
        out, changes = dedupe_batch(batch, self._index, self._threshold if near else None)
        self._index.apply(changes)
        return out

    def forget_cube(self, cube: str) -> None:
        self._index.forget_cube(cube)

    def reset(self) -> None:
        """Forget everything (after a re-embed); cubes reload from their files when next seen."""
        self._index.clear()
