"""Embed stage: adds a unit-length vector to every row that needs one, in one batched call."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.encoder import Encoder
from pipeline.records import EMBEDDED_OPS, PARSED_SCHEMA, vector_type


class EmbedMismatch(RuntimeError):
    """The encoder returned a different number of vectors, or a different width, than asked."""


def rows_to_embed(batch: pa.RecordBatch) -> np.ndarray:
    """Indices of rows whose text must be (re-)embedded: memory bodies new or changed, not failed."""
    wants = pc.and_(
        pc.and_(pc.is_in(batch["op"], pa.array(sorted(EMBEDDED_OPS))), pc.fill_null(batch["reembed"], False)),
        pc.is_null(batch["error"]),
    )
    return np.flatnonzero(wants.to_numpy(zero_copy_only=False))


def embed_batch(batch: pa.RecordBatch, encoder: Encoder) -> pa.RecordBatch:
    if not batch.schema.equals(PARSED_SCHEMA):
        raise TypeError(f"embed_batch expects the parsed schema, got {batch.schema}")
    idx = rows_to_embed(batch)
    texts = batch["index_text"].take(pa.array(idx, pa.int64())).to_pylist()
    vectors = encoder.encode(texts)
    if vectors.shape != (len(texts), encoder.dim):
        raise EmbedMismatch(f"asked for {len(texts)}x{encoder.dim} vectors, got {vectors.shape}")
    full = np.zeros((batch.num_rows, encoder.dim), dtype=np.float32)
    full[idx] = vectors
    mask = np.ones(batch.num_rows, dtype=bool)
    mask[idx] = False  # mask marks nulls: rows without a new vector
    flat = pa.array(full.ravel(), pa.float32())
    column = pa.FixedSizeListArray.from_arrays(flat, encoder.dim, mask=pa.array(mask))
    return batch.append_column(pa.field("vector", vector_type(encoder.dim)), column)


def with_vectors(batch: pa.RecordBatch, vectors: np.ndarray) -> pa.RecordBatch:
    """The embed stage's output for rows that arrive with vectors already (a bulk import)."""
    if not batch.schema.equals(PARSED_SCHEMA):
        raise TypeError(f"with_vectors expects the parsed schema, got {batch.schema}")
    if vectors.ndim != 2 or len(vectors) != batch.num_rows:
        raise EmbedMismatch(f"{batch.num_rows} rows but vectors of shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms), dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(unit.ravel(), pa.float32()), vectors.shape[1])
    return batch.append_column(pa.field("vector", vector_type(vectors.shape[1])), column)
