"""Soak: mixed writes, searches, patches and deletes at 80% of measured capacity, for a long time.

    python -m benchmarks.soak --minutes 30 --out benchmarks/out/soak.json               # the real run
    python -m benchmarks.soak --minutes 2 --out benchmarks/out/soak-short.json          # a short check

It starts its own server, measures the capacity of the mix with a closed loop (`--workers`
clients, `--calibrate-s` seconds; a patch or delete waits for the pipeline, so the loop settles
at what the whole server sustains, not only the accept path), then offers 80% of that as an open
loop (arrivals at a fixed rate, at most `--workers * 4` in flight) for `--minutes`. It records
every error (a status the API does not answer to that request, a timeout, a refused connection)
and, every 10 s, the throughput, the latencies and the resident memory of the front door and of
every process it started (Ray included). Goals (issue 13): no error, and the front door's RSS at
the end within 10% of its RSS after warm-up (the first fifth of the run). All load goes to
loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from api.server_process import ServerProcess, start_server
from benchmarks.machine import describe

MIX = (("write", 0.5), ("search", 0.3), ("patch", 0.1), ("delete", 0.1))
OK = {"write": {200, 202}, "search": {200}, "patch": {200, 202}, "delete": {202, 204}}
AGENTS = 8
WORDS = ("garden", "invoice", "meeting", "tomato", "router", "deploy", "recipe", "flight", "budget", "orchid",
         "kernel", "violin", "harbor", "ledger", "pepper", "glacier")
SAMPLE_S = 10.0


def log(msg: str) -> None:
    print(f"[soak] {msg}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    """What one stretch of the run did: counts, errors and latencies per operation."""

    done: dict[str, int] = field(default_factory=lambda: {op: 0 for op, _ in MIX})
    errors: dict[str, int] = field(default_factory=lambda: {op: 0 for op, _ in MIX})
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op, _ in MIX})
    examples: list[str] = field(default_factory=list)  # the first few errors, for the report

    def add(self, op: str, ms: float, error: str | None) -> None:
        self.done[op] += 1
        self.latency_ms[op].append(ms)
        if error is not None:
            self.errors[op] += 1
            if len(self.examples) < 20:
                self.examples.append(f"{op}: {error}")


class Workload:
    """The mix against one server: memories are written with known ids, so patches and deletes pick live ones."""

    def __init__(self, url: str, seed: int) -> None:
        self.url, self.rng = url, random.Random(seed)
        self.live: dict[str, list[str]] = {f"soak-{a}": [] for a in range(AGENTS)}
        self.next_id = 0

    def pick(self) -> str:
        roll, acc = self.rng.random(), 0.0
        for op, share in MIX:
            acc += share
            if roll < acc:
                return op
        return MIX[-1][0]

    def text(self) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(12))

    async def one(self, client: httpx.AsyncClient, op: str, into: list[Tally]) -> None:
        """One operation, counted in the stretch current when it finishes (`into[0]`)."""
        agent = self.rng.choice(list(self.live))
        ids = self.live[agent]
        headers = {"X-Agent-Id": agent}
        if op in ("patch", "delete") and len(ids) < 20:
            op = "write"  # keep a pool to patch and delete from
        start = time.perf_counter()
        error = None
        try:
            if op == "write":
                self.next_id += 1
                memory_id = f"m{self.next_id}"
                r = await client.post("/v1/memories", headers=headers,
                                      json={"id": memory_id, "content": self.text(), "kind": "message",
                                            "metadata": {"speaker": self.rng.choice(("Ana", "Bo", "Cy"))}})
                if r.status_code in OK[op]:
                    ids.append(memory_id)
            elif op == "search":
                r = await client.post("/v1/search", headers=headers, json={"query": self.text()[:40], "top_k": 5})
            elif op == "patch":
                memory_id = self.rng.choice(ids)
                r = await client.patch(f"/v1/memories/{memory_id}", headers=headers, json={"tags": [self.rng.choice(WORDS)]})
            else:
                memory_id = ids.pop(self.rng.randrange(len(ids)))
                r = await client.delete(f"/v1/memories/{memory_id}", headers=headers)
            if r.status_code not in OK[op]:
                error = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        into[0].add(op, (time.perf_counter() - start) * 1000, error)


def rss_mb(server: ServerProcess) -> tuple[float, float]:
    """Resident memory of the front door, and of every process in its session (Ray's too)."""
    front = total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getsid(int(pid)) != server.proc.pid:
                continue
            kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            continue
        total += kb
        if int(pid) == server.proc.pid:
            front = kb
    return front / 1024, total / 1024


async def calibrate(work: Workload, client: httpx.AsyncClient, workers: int, seconds: float) -> float:
    """Operations per second the closed loop sustains, over the second half of `seconds`."""
    tally = Tally()
    half = time.monotonic() + seconds / 2
    end = time.monotonic() + seconds
    counted = 0

    async def worker() -> None:
        nonlocal counted
        while time.monotonic() < end:
            await work.one(client, work.pick(), [tally])
            if time.monotonic() >= half:
                counted += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    errors = sum(tally.errors.values())
    if errors:
        log(f"calibration saw {errors} error(s): {tally.examples[:3]}")
    return counted / (seconds / 2)


async def soak(work: Workload, client: httpx.AsyncClient, server: ServerProcess, rate: float, seconds: float,
               max_in_flight: int) -> dict:
    """Arrivals at `rate` per second for `seconds`; a sample of the last stretch every SAMPLE_S."""
    samples: list[dict] = []
    total, current = Tally(), [Tally()]
    in_flight: set[asyncio.Task] = set()
    dropped = offered = 0
    start = time.monotonic()
    end, next_sample = start + seconds, start + SAMPLE_S
    while (now := time.monotonic()) < end:
        if now >= next_sample:
            samples.append(sample(current[0], server, now - start))
            merge(total, current[0])
            current[0] = Tally()
            next_sample += SAMPLE_S
            continue
        due = start + offered / rate
        if due > now:
            await asyncio.sleep(min(due, next_sample, end) - now)
            continue
        offered += 1
        if len(in_flight) >= max_in_flight:
            dropped += 1  # the server is behind: the arrival is dropped, and counted
            continue
        task = asyncio.create_task(work.one(client, work.pick(), current))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    samples.append(sample(current[0], server, time.monotonic() - start))
    merge(total, current[0])
    return {"samples": samples, "total": total, "dropped_arrivals": dropped, "offered": offered}


def merge(total: Tally, stretch: Tally) -> None:
    for op in total.done:
        total.done[op] += stretch.done[op]
        total.errors[op] += stretch.errors[op]
        total.latency_ms[op] += stretch.latency_ms[op]
    total.examples += stretch.examples[: max(0, 20 - len(total.examples))]


def sample(stretch: Tally, server: ServerProcess, at_s: float) -> dict:
    front, everything = rss_mb(server)
    all_ms = [ms for values in stretch.latency_ms.values() for ms in values]
    return {"t_s": round(at_s, 1), "ops": sum(stretch.done.values()), "errors": sum(stretch.errors.values()),
            "ops_per_s": round(sum(stretch.done.values()) / SAMPLE_S, 1),
            "p50_ms": round(statistics.median(all_ms), 2) if all_ms else None,
            "p99_ms": round(percentile(all_ms, 99), 2) if all_ms else None,
            "rss_front_mb": round(front, 1), "rss_all_mb": round(everything, 1)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def drive(server: ServerProcess, minutes: float, workers: int, calibrate_s: float, seed: int) -> dict:
    work = Workload(server.url, seed)
    limits = httpx.Limits(max_connections=workers * 4, max_keepalive_connections=workers * 4)
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
        log(f"calibrating: closed loop, {workers} clients, {calibrate_s:.0f} s ...")
        capacity = await calibrate(work, client, workers, calibrate_s)
        rate = 0.8 * capacity
        log(f"capacity {capacity:.1f} ops/s; soaking at {rate:.1f} ops/s for {minutes} min ...")
        run = await soak(work, client, server, rate, minutes * 60, workers * 4)
    return {"capacity_ops_per_s": round(capacity, 2), "rate_ops_per_s": round(rate, 2), **run}


def report(run: dict, minutes: float, args: argparse.Namespace) -> dict:
    total: Tally = run["total"]
    samples = run["samples"]
    warm = next((s for s in samples if s["t_s"] >= minutes * 60 / 5), samples[0])
    end = samples[-1]
    growth = (end["rss_front_mb"] - warm["rss_front_mb"]) / warm["rss_front_mb"] if warm["rss_front_mb"] else None
    ops = {op: {"count": total.done[op], "errors": total.errors[op],
                "p50_ms": round(statistics.median(total.latency_ms[op]), 2) if total.latency_ms[op] else None,
                "p99_ms": round(percentile(total.latency_ms[op], 99), 2) if total.latency_ms[op] else None}
           for op, _ in MIX}
    errors = sum(total.errors.values())
    return {
        "benchmark": "soak", "machine": describe(), "command": "python -m benchmarks.soak " + " ".join(sys.argv[1:]),
        "minutes": minutes, "workers": args.workers, "calibrate_s": args.calibrate_s, "mix": dict(MIX),
        "capacity_ops_per_s": run["capacity_ops_per_s"], "rate_ops_per_s": run["rate_ops_per_s"],
        "offered": run["offered"], "dropped_arrivals": run["dropped_arrivals"],
        "achieved_ops_per_s": round(sum(total.done.values()) / (minutes * 60), 2),
        "errors": errors, "error_examples": total.examples, "ops": ops,
        "rss_front_mb": {"after_warm_up": warm["rss_front_mb"], "end": end["rss_front_mb"],
                         "growth": round(growth, 4) if growth is not None else None},
        "rss_all_mb": {"after_warm_up": warm["rss_all_mb"], "end": end["rss_all_mb"]},
        "samples": samples,
        "goals": {"no_errors": errors == 0, "rss_growth_lt_10pct": growth is not None and growth < 0.10},
    }


def draw(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t_s"] / 60 for s in r["samples"]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].plot(t, [s["rss_front_mb"] for s in r["samples"]], label="front door")
    axes[0].plot(t, [s["rss_all_mb"] for s in r["samples"]], label="all processes")
    axes[0].axvline(r["minutes"] / 5, color="#999", linestyle=":", label="end of warm-up")
    axes[0].set_title("resident memory (MB)")
    axes[0].legend()
    axes[1].plot(t, [s["ops_per_s"] for s in r["samples"]], color="#2a7")
    axes[1].axhline(r["rate_ops_per_s"], color="#999", linestyle="--", label="offered")
    axes[1].set_title("operations per second")
    axes[1].legend()
    axes[2].plot(t, [s["p50_ms"] for s in r["samples"]], label="p50")
    axes[2].plot(t, [s["p99_ms"] for s in r["samples"]], label="p99")
    axes[2].set_yscale("log")
    axes[2].set_title(f"latency (ms); errors: {r['errors']}")
    axes[2].legend()
    for ax in axes:
        ax.set_xlabel("minutes")
    fig.suptitle(f"MemOS soak at 80% of capacity ({r['rate_ops_per_s']:.0f} ops/s) — "
                 f"{r['machine']['cpu']}, {r['machine']['cores']} cores")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def summary(r: dict) -> str:
    lines = [f"capacity {r['capacity_ops_per_s']:.1f} ops/s; offered {r['rate_ops_per_s']:.1f} ops/s for "
             f"{r['minutes']} min; achieved {r['achieved_ops_per_s']:.1f} ops/s; {r['dropped_arrivals']} arrivals dropped"]
    for op, o in r["ops"].items():
        lines.append(f"{op:>6}: {o['count']} done, {o['errors']} errors, p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms")
    m = r["rss_front_mb"]
    lines.append(f"front door RSS {m['after_warm_up']:.0f} -> {m['end']:.0f} MB after warm-up "
                 f"({(m['growth'] or 0) * 100:+.1f}%); all processes {r['rss_all_mb']['after_warm_up']:.0f} -> "
                 f"{r['rss_all_mb']['end']:.0f} MB")
    lines.append("goals: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in r["goals"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--plot", type=Path, default=None, help="default: the --out path with .png")
    ap.add_argument("--workers", type=int, default=16, help="closed-loop clients while calibrating")
    ap.add_argument("--calibrate-s", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="memos-soak-") as tmp:
        server = start_server(Path(tmp) / "data", timeout=900)
        try:
            run = asyncio.run(drive(server, args.minutes, args.workers, args.calibrate_s, args.seed))
        finally:
            server.stop()
    result = report(run, args.minutes, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    draw(result, args.plot or args.out.with_suffix(".png"))
    print(summary(result))
    return result


if __name__ == "__main__":
    main()
