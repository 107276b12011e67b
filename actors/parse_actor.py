"""The parse stage as a Ray actor: holds the tokenizer, parses intake batches."""

from __future__ import annotations

import pyarrow as pa

from actors.stage_timing import timed
from pipeline.encoder import TokenCounter
from pipeline.parse import parse_batch


class ParseStage:
    def __init__(self, model: str) -> None:
        self._count = TokenCounter(model)

    def ready(self) -> bool:
        return True

    def parse(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return timed("parse", batch, lambda b: parse_batch(b, self._count))
