"""Throughput and latency under load, as ratios against the same machine's limits, in one run.

    python -m benchmarks.load --quick --out benchmarks/out/load-quick.json     # < 5 minutes
    python -m benchmarks.load --out benchmarks/out/load.json --plot docs/load.png [--sizes 10000,100000]

Accept path: MemOS `POST /v1/memories` next to a bare FastAPI + uvicorn endpoint doing one apsw
insert (WAL, synchronous=FULL) per request, started by this benchmark: closed loop with 64
connections (wrk), a fixed offered rate of half the bare endpoint's saturation throughput spread
over 4 clients (hey), and one sequential client (hey). Batch: 1,000-item bodies (wrk). Ingest:
202 -> searchable against the raw encode rate (benchmarks.ingest). Search: p50/p95 at 10k
(quick) or 10k, 100k and 1M memories (full), next to the query-embedding time
(benchmarks.search_scale). All load goes to loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from api.server_process import free_port, start_server
from benchmarks import ingest, loadgen, search_scale
from benchmarks.machine import describe

BODY = '{"content": "Alice said she prefers green tea over coffee in the morning", "kind": "message", "tags": ["prefs"]}'


def log(msg: str) -> None:
    print(f"[load] {msg}", file=sys.stderr, flush=True)


def start_bare(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bare_server", "--port", str(port), "--db", str(tmp / "bare.db")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("bare server did not start")


def accept_views(url: str, seconds: int, half_rate: float | None) -> dict:
    """Saturation, latency at a fixed offered rate, and one sequential client, for one endpoint."""
    target = f"{url}/v1/memories"
    loadgen.hey(target, BODY, workers=4, total=400)  # warm up
    sat = loadgen.wrk(target, BODY, connections=64, seconds=seconds)
    rate = half_rate if half_rate is not None else sat.rps / 2
    half = loadgen.hey(target, BODY, workers=4, seconds=seconds, rate_per_worker=rate / 4)
    single = loadgen.hey(target, BODY, workers=1, total=max(500, seconds * 100))
    return {"rps": sat.rps, "errors": sat.errors + half.errors + single.errors, "p50_ms_saturated": sat.p50_ms,
            "half_rate": rate, "p50_ms_half_load": half.p50_ms, "p99_ms_half_load": half.p99_ms,
            "p50_ms_single": single.p50_ms, "p99_ms_single": single.p99_ms}


def batch_rate(url: str, seconds: int) -> dict:
    items = ",".join(
        f'{{"content": "batch item {i}: sensor {i % 31} reported {i * 7} units", "kind": "note"}}' for i in range(1000)
    )
    r = loadgen.wrk(f"{url}/v1/memories/batch", f'{{"items": [{items}]}}', connections=4, seconds=seconds)
    return {"items_per_s": r.rps * 1000, "requests_per_s": r.rps, "p50_ms": r.p50_ms, "errors": r.errors}


def run(quick: bool, out: Path, plot: Path | None, sizes: list[int] | None = None) -> dict:
    seconds = 8 if quick else 20
    result: dict = {"benchmark": "load", "quick": quick, "machine": describe(),
                    "command": "python -m benchmarks.load " + " ".join(sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="memos-load-") as tmp_name:
        tmp = Path(tmp_name)
        log("bare FastAPI + apsw endpoint ...")
        bare_proc, bare_url = start_bare(tmp)
        try:
            bare = accept_views(bare_url, seconds, None)
        finally:
            bare_proc.kill()
            bare_proc.wait()
        log(f"bare: {bare['rps']:.0f} req/s saturated, p99 {bare['p99_ms_half_load']:.2f} ms at {bare['half_rate']:.0f}/s")

        log("MemOS server ...")
        server = start_server(tmp / "memos-data")
        try:
            memos = accept_views(server.url, seconds, bare["half_rate"])
            log(f"memos: {memos['rps']:.0f} req/s saturated, p99 {memos['p99_ms_half_load']:.2f} ms")
            batch = batch_rate(server.url, seconds)
            log(f"batch: {batch['items_per_s']:.0f} items/s")
            with httpx.Client(base_url=server.url) as c:
                backlog = c.get("/v1/health").json()["pending"]
        finally:
            server.stop()
    result["accept"] = {
        "rps": round(memos["rps"], 1), "bare_rps": round(bare["rps"], 1), "ratio": round(memos["rps"] / bare["rps"], 3),
        "p99_ms_half_load": round(memos["p99_ms_half_load"], 3),
        "bare_p99_ms_half_load": round(bare["p99_ms_half_load"], 3),
        "p99_ratio_half_load": round(memos["p99_ms_half_load"] / bare["p99_ms_half_load"], 3),
        "half_load_rate": round(bare["half_rate"], 1),
        "p50_ms_single": round(memos["p50_ms_single"], 3), "bare_p50_ms_single": round(bare["p50_ms_single"], 3),
        "memos": memos, "bare": bare, "backlog_after": backlog,
    }
    result["batch_items_per_s"] = round(batch["items_per_s"], 1)
    result["batch"] = batch

    log("end-to-end ingest against raw encode ...")
    ingest_out = ingest.main(["--out", str(out.with_name(out.stem + "-ingest.json")), "--n", "600" if quick else "2000"])
    result["ingest"] = {"rate": ingest_out["ingest"]["rate"], "encode_rate": ingest_out["encode_rate"],
                        "ratio": ingest_out["ratio"]}

    sizes = sizes or ([10_000] if quick else [10_000, 100_000, 1_000_000])
    log(f"search at {sizes} ...")
    result["search"] = {str(n): search_scale.measure(n) for n in sizes}
    result["goals"] = goals(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    if plot is not None:
        draw(result, plot)
    print(summary(result))
    return result


def goals(r: dict) -> dict[str, bool]:
    a, s = r["accept"], r["search"]
    g = {
        "accept_ratio_ge_0.8": a["ratio"] >= 0.8,
        "p99_half_load_le_1.25x_bare": a["p99_ms_half_load"] <= 1.25 * a["bare_p99_ms_half_load"],
        "p99_half_load_le_10ms": a["p99_ms_half_load"] <= 10,
        "p50_single_le_2ms": a["p50_ms_single"] <= 2,
        "batch_ge_10k_items_per_s": r["batch_items_per_s"] >= 10_000,
        "ingest_ratio_ge_0.85": r["ingest"]["ratio"] >= 0.85,
    }
    if "10000" in s:
        g["search_10k_le_embed_plus_3ms"] = s["10000"]["p50_ms"] <= s["10000"]["embed_ms"] + 3
    if "1000000" in s:
        g["search_1m_le_embed_plus_15ms"] = s["1000000"]["p50_ms"] <= s["1000000"]["embed_ms"] + 15
    return g


def summary(r: dict) -> str:
    a = r["accept"]
    lines = [
        f"accept: {a['rps']:.0f} req/s vs bare {a['bare_rps']:.0f} (ratio {a['ratio']:.2f}); "
        f"p99 at {a['half_load_rate']:.0f}/s {a['p99_ms_half_load']:.2f} ms vs bare {a['bare_p99_ms_half_load']:.2f}; "
        f"single client p50 {a['p50_ms_single']:.2f} ms",
        f"batch: {r['batch_items_per_s']:.0f} items/s",
        f"ingest: {r['ingest']['rate']:.1f} texts/s vs encode {r['ingest']['encode_rate']:.1f} (ratio {r['ingest']['ratio']:.2f})",
    ]
    for n, s in r["search"].items():
        lines.append(f"search {int(n):>9,}: p50 {s['p50_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms, embed {s['embed_ms']:.2f} ms")
    lines.append("goals: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in r["goals"].items()))
    return "\n".join(lines)


def draw(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = r["accept"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].bar(["bare", "MemOS"], [a["bare_rps"], a["rps"]], color=["#999", "#2a7"])
    axes[0].set_title("saturation, 64 conns (req/s)")
    axes[1].bar(["bare p99", "MemOS p99", "bare p50\n1 client", "MemOS p50\n1 client"],
                [a["bare_p99_ms_half_load"], a["p99_ms_half_load"], a["bare_p50_ms_single"], a["p50_ms_single"]],
                color=["#999", "#2a7", "#999", "#2a7"])
    axes[1].set_title(f"latency (ms) at {a['half_load_rate']:.0f} req/s and alone")
    sizes = sorted(r["search"], key=int)
    axes[2].plot([int(n) for n in sizes], [r["search"][n]["p50_ms"] for n in sizes], "o-", label="search p50")
    axes[2].plot([int(n) for n in sizes], [r["search"][n]["p95_ms"] for n in sizes], "o--", label="search p95")
    axes[2].plot([int(n) for n in sizes], [r["search"][n]["embed_ms"] for n in sizes], "s:", label="query embed")
    axes[2].set_xscale("log")
    axes[2].set_title("search latency (ms) by cube size")
    axes[2].legend()
    fig.suptitle(f"MemOS under load — {r['machine']['cpu']}, {r['machine']['cores']} cores")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs, search at 10k only (< 5 min)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--sizes", default=None, help="cube sizes to search, comma-separated (default: by --quick)")
    args = ap.parse_args(argv)
    os.environ.setdefault("MEMOS_LOG", "warning")
    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else None
    return run(args.quick, args.out, args.plot, sizes)


if __name__ == "__main__":
    main()
