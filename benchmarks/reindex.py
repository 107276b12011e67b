"""Offline re-embedding reindex (the Ray Data job) beside the raw encode rate of the same texts.

    python -m benchmarks.reindex --records 10000 --out benchmarks/out/reindex-10k.json

The cube (one, `agent-bench_reindex`, in one shard) is filled once by an offline `memos import` of
the synthetic corpus's texts (benchmarks/corpus.py) and cached in benchmarks/cache/; the vectors it
is imported with are random, as the reindex recomputes every one. Each run copies the cached data
directory and runs what `memos reindex --offline --reembed --all` runs, in this process: the Ray
Data job (read the cube file, `map_batches` over the embed actor pool, the shard writer stores the
vectors), then the writer's Lance and tantivy rebuild.

`rate` is re-embedded records per second of that whole job (Ray Data's start and the pool's model
load included; Ray's own start and the writer's spawn are not, and are reported beside it).
`encode_rate` is the same engine, threads and batch size encoding the same texts in this process
in chunks as large as the pool's calls, after Ray has stopped (a sample of `--encode-sample`
texts spread evenly over the corpus when it is larger). Goal: rate ≥ 0.9 × encode_rate, and a
rate that does not fall as records grow (linear time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from api.server_process import MEMOS
from benchmarks import corpus
from benchmarks.machine import describe
from configs import Settings

AGENT = "bench_reindex"
CUBE = f"agent-{AGENT}"
GOAL = 0.9


def source(n: int) -> Path:
    """The import file: the corpus's first n texts with random unit vectors (replaced by the reindex)."""
    path = corpus.CACHE / f"reindex-corpus-{n}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(42)
    texts, kinds = [], []
    for i in range(n):
        text, kind = corpus.sentence(rng, i)
        texts.append(text)
        kinds.append(kind)
    noise = np.random.default_rng(5).normal(size=(n, corpus.DIM)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    table = pa.table({
        "id": [f"syn-{j}" for j in range(n)],
        "content": texts,
        "kind": kinds,
        "created_at": pa.array([1_700_000_000_000 + j * 1000 for j in range(n)], pa.int64()),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(noise.ravel()), corpus.DIM),
        "embedding_model": [corpus.MODEL] * n,  # kept by the import: nothing embeds them before the reindex
    })
    corpus.CACHE.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    return path


def populated(n: int) -> Path:
    """A data directory whose one cube holds the n records (imported offline once; cached)."""
    data = corpus.CACHE / f"reindex-data-{n}"
    done = data / "IMPORTED"
    if done.exists():
        return data
    shutil.rmtree(data, ignore_errors=True)
    env = {**os.environ, "MEMOS_DATA_DIR": str(data), "MEMOS_AGENT": AGENT, "MEMOS_WORLD_MODEL": "false"}
    print(f"[reindex] importing {n:,} records (once; cached in {data}) ...", file=sys.stderr, flush=True)
    subprocess.run([MEMOS, "import", str(source(n)), "--offline", "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    done.write_text("ok")
    return data


def run_job(settings: Settings) -> dict:
    """What `memos reindex --offline --reembed --all` runs, timed."""
    from actors import cluster
    from pipeline.encoder import model_spec
    from service.reindex import reembed_pool, run_reindex
    from storage.paths import DataPaths
    from storage.registry import Registry

    t0 = time.perf_counter()
    paths = DataPaths(settings.data_dir)
    registry = Registry(paths.registry_db, settings.n_shards)
    cluster.connect(settings)
    try:
        writers = cluster.spawn_writers(settings, registry.shards(), model_spec(settings.embed_model).dim)
        startup = time.perf_counter() - t0
        report = run_reindex(paths, registry, writers, reembed_pool(settings), reembed=True, everything=True,
                             progress=lambda shard, cubes: None)
    finally:
        cluster.shutdown()
    return {**report.to_json(), "startup_seconds": round(startup, 3)}


def stored_texts(data: Path) -> list[str]:
    import apsw

    from storage.paths import DataPaths

    conn = apsw.Connection(str(DataPaths(data).cube_db(CUBE)), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [r[0] for r in conn.execute("SELECT index_text FROM memories WHERE status = 'active' ORDER BY id")]
    finally:
        conn.close()


def encode_rate(settings: Settings, texts: list[str], chunk: int) -> float:
    from pipeline.encoder import load_encoder

    encoder = load_encoder(settings.embed_model, settings.embed_engine, settings.models_dir,
                           threads=settings.embed_threads or os.cpu_count() or 1,
                           batch_size=settings.embed_batch_size, device=settings.embed_device)
    encoder.encode(texts[:64])  # warm up
    start = time.perf_counter()
    for i in range(0, len(texts), chunk):
        encoder.encode(texts[i : i + chunk])
    return len(texts) / (time.perf_counter() - start)


def measure(n: int, sample: int) -> dict:
    cached = populated(n)
    with tempfile.TemporaryDirectory(dir=corpus.CACHE, prefix="reindex-run-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(cached, data)
        settings = Settings(data_dir=data, model_cache_dir=str(cached / "models"))
        job = run_job(settings)
        texts = stored_texts(data)
    if len(texts) > sample:
        texts = [texts[i] for i in np.linspace(0, len(texts) - 1, sample).astype(int)]
    from service.reindex import reembed_pool

    raw = encode_rate(settings, texts, reembed_pool(settings).rows_per_call)
    return {"records": job["reembedded"], "rate": job["rate"], "encode_rate": round(raw, 1),
            "ratio": round(job["rate"] / raw, 3), "encode_sample": len(texts), "job": job,
            "settings": {"embed_engine": settings.embed_engine, "embed_batch_size": settings.embed_batch_size,
                         "reindex_actors": reembed_pool(settings).actors, "embed_device": settings.embed_device}}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--encode-sample", type=int, default=10_000,
                    help="texts the raw encode rate is measured on (spread over the corpus)")
    args = ap.parse_args(argv)
    result = {"benchmark": "reindex", "machine": describe(), **measure(args.records, args.encode_sample)}
    job = result["job"]
    met = "met" if result["ratio"] >= GOAL else "NOT met"
    print(f"reindex of {result['records']:,} records: {result['rate']:.1f} records/s "
          f"(re-embed {job['embed_seconds']:.1f} s, rebuild {job['rebuild_seconds']:.1f} s; Ray start "
          f"{job['startup_seconds']:.1f} s not counted)")
    print(f"raw encode of {result['encode_sample']:,} of the same texts: {result['encode_rate']:.1f} texts/s")
    print(f"ratio {result['ratio']:.2f}x against the goal >= {GOAL}x: {met}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
