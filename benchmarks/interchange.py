"""Export and import rates of the interchange format, with the peak memory of the server's processes.

    python -m benchmarks.interchange --out benchmarks/out/interchange.json [--n 100000]

A synthetic `.memos.jsonl` of N memories (chat lines with tags and metadata, every tenth a tool
call, each with a unit vector from the server's model so import reuses it and measures the write
path rather than the embedder) is imported into a fresh server with `POST /v1/import`, then the
cube is exported with `GET /v1/export` (without and with vectors), then the same bundle is
imported again (every object skipped). Rates are memories per second, wall clock from the request
to the job's end (import) or the last byte (export). Memory: the peak resident set (VmHWM) of the
front door, and the largest sum of VmRSS over the server's process group (front door and Ray
workers) sampled every 0.2 s while each step ran, beside that sum for the idle server; a peak that
stays flat as N grows is what "constant memory" means here.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

from api.server_process import start_server
from benchmarks.machine import describe
from pipeline.interchange.jsonl import write_jsonl
from pipeline.interchange.model import iso

MODEL, DIM = "all-MiniLM-L6-v2", 384
WORDS = ("deploy rollback latency cache index shard query tea coffee Zürich Denver café retry budget alert "
         "incident backup schema migration token vector garden kite harbour").split()


def synthetic_bundle(path: Path, n: int, seed: int = 7) -> int:
    """A `.memos.jsonl` of n memories with vectors; its size in bytes."""
    rng = np.random.default_rng(seed)
    start = 1_700_000_000_000
    header = {"object": "header", "format": "memos-interchange", "version": "1.0", "created_at": iso(start),
              "producer": {"name": "memos-bench", "version": "0"}, "cubes": [{"id": "agent-bench_ic"}]}

    def objects():
        for i in range(n):
            words = " ".join(rng.choice(WORDS, size=12))
            memory = {"object": "memory", "id": f"m{i:07d}", "tier": "trace", "kind": "message",
                      "content": f"{words} #{i}", "tags": [f"t{i % 17}"], "metadata": {"speaker": f"user{i % 5}"},
                      "temporal": {"created_at": iso(start + i * 1000)}}
            if i % 10 == 0:
                memory["kind"] = "tool_call"
                memory["tool"] = {"name": "run_query", "arguments": {"q": words[:30]},
                                  "result": {"rows": i % 7} if i % 20 else "ok", "status": "ok"}
            yield memory
            vector = rng.standard_normal(DIM).astype(np.float32)
            yield {"object": "vector", "memory_id": memory["id"], "model": MODEL, "dimensions": DIM,
                   "vector": (vector / np.linalg.norm(vector)).tolist()}

    with path.open("wb") as f:
        for chunk in write_jsonl(header, objects()):
            f.write(chunk)
    return path.stat().st_size


def _kib(status: str, key: str) -> int:
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def group_rss_mb(pgid: int) -> float:
    """Sum of VmRSS over the processes of one process group (the server and its Ray workers)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[3]) != pgid:
                continue
            total += _kib(Path(f"/proc/{pid}/status").read_text(), "VmRSS")
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024


class PeakSampler:
    """The largest process-group RSS seen while a step runs."""

    def __init__(self, pgid: int) -> None:
        self._pgid, self.peak_mb = pgid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, group_rss_mb(self._pgid))
            self._stop.wait(0.2)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def front_door_peak_mb(pid: int) -> float:
    return _kib(Path(f"/proc/{pid}/status").read_text(), "VmHWM") / 1024


def timed_import(c: httpx.Client, bundle: Path, pgid: int) -> dict[str, float]:
    with PeakSampler(pgid) as peak:
        t0 = time.perf_counter()
        with bundle.open("rb") as f:
            r = c.post("/v1/import", files={"file": ("bench.memos.jsonl", f)})
        r.raise_for_status()
        job = r.json()["job_id"]
        accepted = time.perf_counter() - t0
        while (report := c.get(f"/v1/import/{job}").json())["status"] == "running":
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
    assert report["status"] == "done" and report["errors"] == 0, report
    return {"seconds": round(seconds, 2), "check_seconds": round(accepted, 2), "added": report["added"],
            "skipped": report["skipped"], "reused_vectors": report["reused_vectors"],
            "peak_group_rss_mb": round(peak.peak_mb, 1)}


def timed_export(c: httpx.Client, pgid: int, vectors: bool) -> dict[str, float]:
    with PeakSampler(pgid) as peak:
        t0 = time.perf_counter()
        size, last = 0, b""
        with c.stream("GET", "/v1/export", params={"format": "memos", "vectors": str(vectors).lower()}) as r:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                size += len(chunk)
                last = (last + chunk)[-65536:]
        seconds = time.perf_counter() - t0
    manifest = orjson.loads(last.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    return {"seconds": round(seconds, 2), "bytes": size, "memories": manifest["counts"]["memory"],
            "peak_group_rss_mb": round(peak.peak_mb, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/interchange.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-interchange-") as tmp:
        root = Path(tmp)
        bundle = root / "bench.memos.jsonl"
        t0 = time.perf_counter()
        size = synthetic_bundle(bundle, args.n)
        print(f"bundle: {args.n} memories with vectors, {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
        server = start_server(root / "data", timeout=600)
        pgid = server.proc.pid
        time.sleep(5)  # let the actors finish loading before the baseline
        idle_mb = group_rss_mb(pgid)
        print(f"idle server process group: {idle_mb:,.0f} MB")
        try:
            with httpx.Client(base_url=server.url, headers={"X-Agent-Id": "bench_ic"}, timeout=3600) as c:
                first = timed_import(c, bundle, pgid)
                print(f"import:  {args.n / first['seconds']:,.0f} memories/s ({first})")
                plain = timed_export(c, pgid, vectors=False)
                print(f"export:  {args.n / plain['seconds']:,.0f} memories/s ({plain})")
                with_vectors = timed_export(c, pgid, vectors=True)
                print(f"export+vectors: {args.n / with_vectors['seconds']:,.0f} memories/s ({with_vectors})")
                again = timed_import(c, bundle, pgid)
                print(f"re-import (all skipped): {args.n / again['seconds']:,.0f} memories/s ({again})")
                door = front_door_peak_mb(server.proc.pid)
        finally:
            server.stop()
    result = {
        "benchmark": "interchange", "n": args.n, "bundle_mb": round(size / 1e6, 1), "machine": describe(),
        "import": {**first, "memories_per_s": round(args.n / first["seconds"], 1)},
        "export": {**plain, "memories_per_s": round(args.n / plain["seconds"], 1)},
        "export_with_vectors": {**with_vectors, "memories_per_s": round(args.n / with_vectors["seconds"], 1)},
        "reimport_skipped": {**again, "memories_per_s": round(args.n / again["seconds"], 1)},
        "front_door_peak_rss_mb": round(door, 1),
        "idle_group_rss_mb": round(idle_mb, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
