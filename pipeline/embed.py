"""Embed stage: a unit-length vector for every row that needs one and has none, in one batched call.

The stage runs twice in the chain (actors/stage_chain.py): before dedupe, for what a client sent
and the facts read from it; after crystallize, for the summaries and skill versions that stage
made. Rows that already hold a vector (from the first pass, or carried by an import file) are
left alone, so the second pass embeds only what is new. A closing episode gets its task's vector
in its attrs (`task_vector`): crystallize groups the episode by it and the writer stores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.encoder import Encoder
from pipeline.records import EMBEDDED_OPS, PARSED_SCHEMA, Op, vector_type

# What a reindex re-embeds: stored rows read back from a cube file.
REEMBED_SCHEMA = pa.schema([("cube", pa.string()), ("id", pa.string()), ("index_text", pa.string())])


class EmbedMismatch(RuntimeError):
    """The encoder returned a different number of vectors, or a different width, than asked."""


def rows_to_embed(batch: pa.RecordBatch) -> np.ndarray:
    """Indices of rows whose text must be (re-)embedded: memory bodies new or changed, not failed,
    with no vector yet."""
    wants = pc.and_(
        pc.and_(pc.is_in(batch["op"], pa.array(sorted(EMBEDDED_OPS))), pc.fill_null(batch["reembed"], False)),
        pc.is_null(batch["error"]),
    )
    if "vector" in batch.schema.names:
        wants = pc.and_(wants, pc.is_null(batch["vector"]))
    return np.flatnonzero(wants.to_numpy(zero_copy_only=False))


def closing_tasks(batch: pa.RecordBatch) -> list[tuple[int, dict]]:
    """(index, attrs) of the closing episodes whose task has no vector yet."""
    ops = batch["op"].to_pylist()
    if Op.EPISODE.value not in ops:
        return []
    out = []
    for i, (op, attrs, error) in enumerate(zip(ops, batch["attrs"].to_pylist(), batch["error"].to_pylist())):
        if op != Op.EPISODE or error or not attrs:
            continue
        decoded = orjson.loads(attrs)
        if decoded.get("action") == "close" and decoded.get("task") and decoded.get("task_vector") is None:
            out.append((i, decoded))
    return out


def _check_schema(batch: pa.RecordBatch, dim: int) -> None:
    head = pa.schema(list(batch.schema)[: len(PARSED_SCHEMA)])
    if not head.equals(PARSED_SCHEMA):
        raise TypeError(f"embed_batch expects the parsed schema (and what later stages add), got {batch.schema}")
    if "vector" in batch.schema.names and batch.schema.field("vector").type != vector_type(dim):
        raise EmbedMismatch(f"the batch holds {batch.schema.field('vector').type} vectors, the model makes {dim}")


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms), dtype=np.float32)


def _encode(encoder: Encoder, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    vectors = encoder.encode(texts)
    if vectors.shape != (len(texts), encoder.dim):
        raise EmbedMismatch(f"asked for {len(texts)}x{encoder.dim} vectors, got {vectors.shape}")
    return vectors


def _vector_column(full: np.ndarray, valid: np.ndarray) -> pa.Array:
    flat = pa.array(full.ravel(), pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, full.shape[1], mask=pa.array(~valid))


def _existing(batch: pa.RecordBatch, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The batch's vectors as a dense (rows, dim) copy, and which rows hold one."""
    if "vector" not in batch.schema.names:
        return np.zeros((batch.num_rows, dim), dtype=np.float32), np.zeros(batch.num_rows, dtype=bool)
    column = batch["vector"]
    values = column.values.to_numpy(zero_copy_only=False).reshape(-1, dim)
    # A fixed-size list keeps a slot for null rows too, so row i is values[offset + i].
    full = values[column.offset: column.offset + batch.num_rows].astype(np.float32, copy=True)
    return full, column.is_valid().to_numpy(zero_copy_only=False)


def embed_batch(
    batch: pa.RecordBatch, encoder: Encoder, given: Mapping[str, Sequence[float]] | None = None
) -> pa.RecordBatch:
    """The batch with its `vector` column filled where rows need one; `given` (id -> vector) are
    vectors an import file carries, used instead of the model's for those rows."""
    _check_schema(batch, encoder.dim)
    idx = rows_to_embed(batch)
    closing = closing_tasks(batch)
    has_column = "vector" in batch.schema.names
    if has_column and not len(idx) and not closing:
        return batch  # the common second pass: nothing was derived
    ids = batch["id"].to_pylist()
    reuse = [i for i in idx if given and ids[i] in given]
    encode = [i for i in idx if not (given and ids[i] in given)]
    texts = batch["index_text"].take(pa.array(encode, pa.int64())).to_pylist()
    vectors = _encode(encoder, texts + [attrs["task"] for _, attrs in closing])
    full, valid = _existing(batch, encoder.dim)
    full[encode] = vectors[: len(encode)]
    if reuse:
        carried = np.asarray([given[ids[i]] for i in reuse], dtype=np.float32)  # type: ignore[index]
        if carried.shape != (len(reuse), encoder.dim):
            raise EmbedMismatch(f"import vectors of shape {carried.shape}, the model makes {encoder.dim}")
        full[reuse] = _unit(carried)
    valid[idx] = True
    column = _vector_column(full, valid)
    out = (batch.set_column(batch.schema.get_field_index("vector"), "vector", column) if has_column
           else batch.append_column(pa.field("vector", vector_type(encoder.dim)), column))
    if not closing:
        return out
    attrs = out["attrs"].to_pylist()
    for (i, decoded), vector in zip(closing, vectors[len(encode):]):
        attrs[i] = orjson.dumps({**decoded, "task_vector": [float(x) for x in vector]}).decode()
    return out.set_column(out.schema.get_field_index("attrs"), "attrs", pa.array(attrs, pa.string()))


def reembed_batch(cube: str, rows: Sequence[tuple[str, str]]) -> pa.RecordBatch:
    """(id, index_text) rows read back from a cube file, as a reindex hands them to the embed stage."""
    return pa.RecordBatch.from_pydict(
        {"cube": [cube] * len(rows), "id": [i for i, _ in rows], "index_text": [t for _, t in rows]},
        schema=REEMBED_SCHEMA,
    )


def embed_stored(batch: pa.RecordBatch, encoder: Encoder) -> pa.RecordBatch:
    """A reindex's rows with a fresh vector each."""
    if not batch.schema.equals(REEMBED_SCHEMA):
        raise TypeError(f"embed_stored expects the reembed schema, got {batch.schema}")
    vectors = _encode(encoder, batch["index_text"].to_pylist())
    column = _vector_column(vectors, np.ones(batch.num_rows, dtype=bool))
    return batch.append_column(pa.field("vector", vector_type(encoder.dim)), column)
