"""What a reindex does, as pure parts: which rows go to which shard writer, and the report it prints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import pyarrow as pa


def split_by_shard(table: pa.Table, shard_of: Mapping[str, str]) -> dict[str, pa.RecordBatch]:
    """The table's rows as one record batch per shard, by each row's cube (order kept within a shard)."""
    if table.num_rows == 0:
        return {}
    cubes = table["cube"].to_pylist()
    shards = [shard_of[c] for c in cubes]
    out: dict[str, pa.RecordBatch] = {}
    flat = table.combine_chunks()
    for shard in dict.fromkeys(shards):
        rows = pa.array([i for i, s in enumerate(shards) if s == shard], pa.int64())
        part = flat.take(rows) if len(rows) < flat.num_rows else flat
        out[shard] = part.combine_chunks().to_batches()[0]
    return out


@dataclass
class ReindexReport:
    """The JSON a reindex prints (`memos reindex --offline --json`) and logs (online).

    Seconds are wall time of each phase: `embed_seconds` covers reading, encoding and storing the
    new vectors (they stream together), `rebuild_seconds` the Lance and tantivy rebuild after."""

    shards: int = 0
    cubes: int = 0
    vectors: int = 0
    documents: int = 0
    reembedded: int = 0
    embed_seconds: float = 0.0
    rebuild_seconds: float = 0.0
    seconds: float = 0.0
    rebuilt: list[str] = field(default_factory=list)  # shards whose indexes were rewritten

    @property
    def rate(self) -> float:
        """Re-embedded rows per second of the whole reindex (0 when nothing was re-embedded)."""
        return self.reembedded / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        out = asdict(self)
        for key in ("embed_seconds", "rebuild_seconds", "seconds"):
            out[key] = round(out[key], 3)
        out["rate"] = round(self.rate, 1)
        return out
