"""The import engine (service/interchange.py ImportEngine, which `memos import --offline` runs too):
a table of rows goes through the whole stage chain into a cube.

Regression (issue 12): `memos import --offline` skipped the extract and crystallize stages, so an
imported note stated no world facts. Issue 15: a vector is reused only from the server's model,
and the old importer's DuckDB reading widened each row's metadata with the other rows' keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.interchange.jsonl import write_jsonl as bundle_stream
from pipeline.interchange.model import iso
from pipeline.interchange.plan import OnConflict
from service.importer import read_chunks
from service.interchange import ImportEngine, check_source
from service.runtime import Runtime
from storage.cube.reader import CubeReader

DIM = 384
MODEL = "all-MiniLM-L6-v2"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def bundle(path: Path, objects: list[dict]) -> Path:
    header = {"object": "header", "format": "memos-interchange", "version": "1.0", "created_at": iso(0),
              "producer": {"name": "test", "version": "0"}, "cubes": []}
    path.write_bytes(b"".join(bundle_stream(header, objects)))
    return path


def test_an_imported_note_yields_its_world_fact(runtime: Runtime, tmp_path: Path):
    source = write_jsonl(tmp_path / "notes.jsonl", [
        {"id": "imp-tea", "content": "Alice prefers green tea.", "kind": "note", "metadata": {"a": 1}},
        {"id": "imp-kite", "content": "The red kite flew over the harbour", "metadata": {"b": 2}},
    ])
    cube = runtime.registry.ensure_private("agent-importer", "importer")
    checked, total = check_source(source, "auto")
    seen: list[int] = []
    engine = ImportEngine(runtime.paths, runtime.chain, cube, "importer", MODEL, DIM)
    tally = engine.run(checked, OnConflict.SKIP, progress=lambda n, t: seen.append(n))
    assert (total, tally.summary(), seen) == (2, {"added": 2, "updated": 0, "skipped": 0, "errors": 0}, [2])
    store = CubeReader(runtime.paths.cube_db(cube.id))
    try:
        (fact,) = store.list(limit=10, tier="world").items
        kite = store.get("imp-kite")
        vectors = store.embeddings(["imp-tea", "imp-kite", fact.id])
    finally:
        store.close()
    assert (fact.kind, fact.content, fact.source_ids) == ("fact", "Alice prefers green tea.", ["imp-tea"])
    assert kite.metadata == {"b": 2}  # not {"a": None, "b": 2}
    assert set(vectors) == {"imp-tea", "imp-kite", fact.id}  # the notes and the fact were embedded


def test_a_bundles_vector_is_kept_only_from_the_servers_model(runtime: Runtime, tmp_path: Path):
    carried = [0.0] * DIM
    carried[7] = 1.0

    def objects(memory_id: str, model: str) -> list[dict]:
        return [{"object": "memory", "id": memory_id, "tier": "trace", "kind": "note", "content": "a red kite",
                 "temporal": {"created_at": iso(1_000)}},
                {"object": "vector", "memory_id": memory_id, "model": model, "dimensions": DIM, "vector": carried}]

    source = bundle(tmp_path / "b.memos.jsonl", objects("vec-same", MODEL) + objects("vec-other", "another-model"))
    cube = runtime.registry.ensure_private("agent-vectors", "vectors")
    engine = ImportEngine(runtime.paths, runtime.chain, cube, "vectors", MODEL, DIM)
    engine.run(check_source(source, "auto")[0], OnConflict.SKIP)
    assert engine.reused_vectors == 1
    store = CubeReader(runtime.paths.cube_db(cube.id))
    try:
        vectors = store.embeddings(["vec-same", "vec-other"])
    finally:
        store.close()
    assert np.array_equal(vectors["vec-same"], np.asarray(carried, dtype=np.float32))  # kept, not embedded
    assert not np.array_equal(vectors["vec-other"], np.asarray(carried, dtype=np.float32))  # embedded again


def test_a_tables_vector_is_kept_only_beside_the_servers_model_named(runtime: Runtime, tmp_path: Path):
    carried = [0.0] * DIM
    carried[3] = 1.0
    rows = [{"id": "row-named", "content": "a red kite", "vector": carried, "embedding_model": MODEL},
            {"id": "row-unnamed", "content": "a blue kite", "vector": carried, "embedding_model": None},
            {"id": "row-other", "content": "a green kite", "vector": carried, "embedding_model": "another-model"}]
    source = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema([
        ("id", pa.string()), ("content", pa.string()), ("vector", pa.list_(pa.float32(), DIM)),
        ("embedding_model", pa.string())])), source)
    cube = runtime.registry.ensure_private("agent-rowvec", "rowvec")
    engine = ImportEngine(runtime.paths, runtime.chain, cube, "rowvec", MODEL, DIM)
    tally = engine.run(check_source(source, "auto")[0], OnConflict.SKIP)
    assert (tally.summary()["added"], engine.reused_vectors) == (3, 1)
    store = CubeReader(runtime.paths.cube_db(cube.id))
    try:
        vectors = store.embeddings(["row-named", "row-unnamed", "row-other"])
    finally:
        store.close()
    kept = np.asarray(carried, dtype=np.float32)
    assert np.array_equal(vectors["row-named"], kept)  # the row's own, not embedded
    assert not np.array_equal(vectors["row-unnamed"], kept) and not np.array_equal(vectors["row-other"], kept)


def test_read_chunks_keeps_each_rows_own_metadata(tmp_path: Path):
    source = write_jsonl(tmp_path / "rows.jsonl", [{"content": "x", "metadata": {"a": 1}},
                                                   {"content": "y", "metadata": {"b": 2}, "tool": {"name": "t"}}])
    (batch,) = list(read_chunks(source))
    rows = batch.to_pylist()
    assert [orjson.loads(r["metadata"]) for r in rows] == [{"a": 1}, {"b": 2}]
    assert rows[0]["tool"] is None and orjson.loads(rows[1]["tool"]) == {"name": "t"}
