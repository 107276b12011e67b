"""Query embedding in the front door process: one model, one query at a time, repeated queries cached."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from pipeline.encoder import load_encoder


class QueryEmbedder:
    def __init__(self, model: str, engine: str, cache_dir: Path, threads: int, cache_size: int) -> None:
        self._encoder = load_encoder(model, engine, cache_dir, threads=threads, batch_size=1)
        self.dim = self._encoder.dim
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
            # Two cores: concurrent encodes only fight over them, so queries take turns.
            vector = self._encoder.encode([text])[0]
            vector.setflags(write=False)
            if self._cache_size:
                self._cache[text] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return vector
