"""Search latency at one cube of 10k, 100k or 1M memories, next to the query-embedding time.

    python -m benchmarks.search_scale --sizes 10000 100000 --out benchmarks/out/search.json

The cube is filled once by an offline `memos import` of the synthetic corpus (benchmarks/corpus.py)
and the populated data directory is cached beside it. Each measured query is distinct (no query
cache hits); latency is the client's, over HTTP, after the cube's vectors are warm in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from api.server_process import MEMOS, start_server
from benchmarks import corpus
from benchmarks.machine import describe

AGENT = "bench_search"
QUERIES = 200


def populated(n: int) -> Path:
    """A data directory whose cube `agent-bench_search` holds the n-memory corpus (cached)."""
    data = corpus.CACHE / f"data-{n}"
    done = data / "IMPORTED"
    if done.exists():
        return data
    source = corpus.parquet(n)
    # An import runs every stage, world facts included; the corpus is synthetic and must stay exactly
    # n memories, so the import reads no facts from it.
    env = {**os.environ, "MEMOS_DATA_DIR": str(data), "MEMOS_AGENT": AGENT, "MEMOS_WORLD_MODEL": "false"}
    print(f"[search] importing {n:,} memories (once; cached in {data}) ...", file=sys.stderr, flush=True)
    subprocess.run([MEMOS, "import", str(source), "--offline", "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    done.write_text("ok")
    return data


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the front door and its Ray workers)."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=,rss=", "-e"], capture_output=True, text=True).stdout
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    children: dict[int, list[int]] = {}
    for p, pp, _ in rows:
        children.setdefault(pp, []).append(p)
    rss = {p: r for p, _, r in rows}
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack += children.get(p, [])
    return total / 1024


def front_door_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def measure(n: int) -> dict:
    data = populated(n)
    server = start_server(data)
    try:
        with httpx.Client(base_url=server.url, headers={"X-Agent-Id": AGENT}, timeout=120) as c:
            c.post("/v1/search", json={"query": "warm up", "top_k": 10})  # starts loading the cube's vectors
            deadline = time.monotonic() + 1800
            while c.get("/v1/health").json()["warming"] and time.monotonic() < deadline:
                time.sleep(0.5)
            for q in corpus.queries(20, seed=99):
                c.post("/v1/search", json={"query": q, "top_k": 10})
            latency, embed, vector, bm25 = [], [], [], []
            for q in corpus.queries(QUERIES):
                t = time.perf_counter()
                r = c.post("/v1/search", json={"query": q, "top_k": 10})
                latency.append((time.perf_counter() - t) * 1000)
                timings = r.json()["timings_ms"]
                embed.append(timings["embed"])
                vector.append(timings["vector"])
                bm25.append(timings["bm25"])
            health = c.get("/v1/health").json()
        memory = {"front_door_mb": round(front_door_rss_mb(server.proc.pid), 1),
                  "all_processes_mb": round(rss_mb(server.proc.pid), 1), "hot_vectors_mb": health["hot_vectors_mb"]}
    finally:
        server.stop()
    pct = lambda xs, p: round(float(np.percentile(xs, p)), 3)  # noqa: E731
    return {
        "n": n, "queries": QUERIES, "p50_ms": pct(latency, 50), "p95_ms": pct(latency, 95),
        "embed_ms": pct(embed, 50), "vector_ms": pct(vector, 50), "bm25_ms": pct(bm25, 50),
        "over_embed_ms": round(pct(latency, 50) - pct(embed, 50), 3), "memory": memory,
        "vectors": "real embeddings" if n <= corpus.EMBEDDED else f"{corpus.EMBEDDED:,} real embeddings + noisy copies",
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    result = {"benchmark": "search_scale", "machine": describe(), "sizes": {}}
    for n in args.sizes:
        result["sizes"][str(n)] = measure(n)
        s = result["sizes"][str(n)]
        print(f"{n:>9,}: p50 {s['p50_ms']:.2f} ms  p95 {s['p95_ms']:.2f} ms  embed {s['embed_ms']:.2f} ms  "
              f"vector {s['vector_ms']:.2f} ms  bm25 {s['bm25_ms']:.2f} ms  front door {s['memory']['front_door_mb']} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
