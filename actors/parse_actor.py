"""The parse stage as a Ray actor: holds the tokenizer, parses intake batches, reads images' text."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pyarrow as pa

from actors.stage_timing import timed
from pipeline.encoder import TokenCounter
from pipeline.errors import MemosError
from pipeline.ocr import read_text
from pipeline.parse import parse_batch
from storage.blob_store import BlobStore
from storage.paths import DataPaths

_OCR_CACHE = 64  # the same image sent again (a retry, a dedupe) is read once


class ParseStage:
    def __init__(self, model: str, data_dir: str | None = None, ocr: bool = True, ocr_timeout_s: float = 20.0) -> None:
        self._count = TokenCounter(model)
        # Tesseract's OpenMP threads would crowd the embedder's cores; one image at a time, one thread each.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self._blobs = BlobStore(DataPaths(Path(data_dir))) if data_dir is not None else None
        self._ocr, self._ocr_timeout_s = ocr, ocr_timeout_s
        self._read: OrderedDict[str, str] = OrderedDict()

    def ready(self) -> bool:
        return True

    def parse(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return timed("parse", batch, lambda b: parse_batch(b, self._count, self._image_text))

    def _image_text(self, cube: str, image: dict[str, Any]) -> str:
        """OCR of the image's stored bytes (durable before its write was accepted)."""
        sha = str(image["sha256"])
        if not self._ocr or self._blobs is None:
            return ""
        if sha in self._read:
            self._read.move_to_end(sha)
            return self._read[sha]
        try:
            data = self._blobs.read(cube, sha)
        except (MemosError, OSError):  # a name that is not a hash, an unreadable file: indexed by its caption
            data = None
        text = read_text(data, timeout_s=self._ocr_timeout_s) if data is not None else ""
        self._read[sha] = text
        if len(self._read) > _OCR_CACHE:
            self._read.popitem(last=False)
        return text
