"""What metrics and access logs cost the accept path: saturation with both on and both off, in one run.

    python -m benchmarks.observability --out benchmarks/out/observability.json            # 2 pairs, 8 s each
    python -m benchmarks.observability --out benchmarks/out/observability.json --pairs 3 --seconds 20

Each pair starts a fresh server with `metrics = false, access_log = false`, measures it, stops it,
pauses, then does the same with both on (the default), and the next pair runs the two the other
way round, so drift on a shared machine falls on both sides. Each measurement is the load
benchmark's: a warm-up, then `POST /v1/memories` saturated by wrk with 64 connections (the
accept fast path), and one sequential client (hey). The access lines go where `memos serve`
writes them, the server's log file. All load goes to loopback and stops by itself.

Two steadier figures beside the throughput: the front door process's CPU per request during the
saturated run (from /proc), and, first, the CPU per request the outer layer adds in this process
around an app that answers at once (request ids; with metrics; with metrics and access lines).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from api.server_process import start_server
from benchmarks import loadgen
from benchmarks.load import BODY
from benchmarks.machine import describe

OFF = {"metrics": "false", "access_log": "false"}
ON = {"metrics": "true", "access_log": "true"}


def log(msg: str) -> None:
    print(f"[observability] {msg}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of one process (the front door; Ray's actors run in processes of their own)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(tmp: Path, name: str, settings: dict[str, str], seconds: int) -> dict:
    server = start_server(tmp / name, timeout=600, **settings)
    try:
        target = f"{server.url}/v1/memories"
        loadgen.hey(target, BODY, workers=4, total=400)  # warm-up
        cpu_before = cpu_seconds(server.proc.pid)
        sat = loadgen.wrk(target, BODY, connections=64, seconds=seconds)
        cpu_us = (cpu_seconds(server.proc.pid) - cpu_before) / max(sat.requests, 1) * 1e6
        single = loadgen.hey(target, BODY, workers=1, total=max(500, seconds * 100))
        log_lines = sum(1 for line in server.log_path.read_text(errors="replace").splitlines()
                        if '"logger":"memos.access"' in line)
    finally:
        server.stop()
    return {"rps": round(sat.rps, 1), "p50_ms_saturated": sat.p50_ms, "errors": sat.errors + single.errors,
            "front_door_cpu_us_per_request": round(cpu_us, 1), "p50_ms_single": single.p50_ms,
            "access_lines": log_lines}


async def _answer_202(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"id":"x","job_id":"job-x","status":"queued"}'})


def layer_cost_us(n: int = 20_000) -> dict[str, float]:
    """CPU per request the outer layer (api/request_observer.py) adds around an app that answers at once,
    in this process: request ids alone, with metrics, with metrics and the access log (to /dev/null)."""
    import asyncio

    from api.json_logs import configure
    from api.request_observer import RequestObserver
    from service.metrics import ServerMetrics

    configure("warning", access_log=True, stream=open(os.devnull, "w"))
    headers = [(b"host", b"127.0.0.1:8765"), (b"content-type", b"application/json"), (b"content-length", b"112"),
               (b"x-agent-id", b"bench")]
    scope = {"type": "http", "method": "POST", "path": "/v1/memories", "query_string": b"", "headers": headers}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    async def per_request(app) -> float:
        start = time.process_time()
        for _ in range(n):
            await app(dict(scope), receive, send)
        return (time.process_time() - start) / n * 1e6

    def observer(metrics: bool, log: bool) -> RequestObserver:
        return RequestObserver(_answer_202, routes=[], accept_path="/v1/memories",
                               metrics=ServerMetrics(lambda: None) if metrics else None, access_log=log)

    async def all_of() -> dict[str, float]:
        bare = await per_request(_answer_202)
        layers = {"ids": observer(False, False), "ids+metrics": observer(True, False),
                  "ids+metrics+log": observer(True, True)}
        costs = {name: round(await per_request(app) - bare, 2) for name, app in layers.items()}
        layers["ids+metrics+log"].access.flush()  # its last batch's formatting counts too
        return costs

    return asyncio.run(all_of())


def run(pairs: int, seconds: int, pause_s: float, out: Path) -> dict:
    layer = layer_cost_us()
    log(f"outer layer CPU per request: {layer}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="memos-obs-") as tmp_name:
        tmp = Path(tmp_name)
        for n in range(pairs):
            order = [("off", OFF), ("on", ON)] if n % 2 == 0 else [("on", ON), ("off", OFF)]
            pair: dict[str, dict] = {}
            for label, settings in order:
                log(f"pair {n + 1}: {label} ...")
                pair[label] = measure(tmp, f"{label}-{n}", settings, seconds)
                log(f"pair {n + 1}: {label}: {pair[label]['rps']:.0f} req/s saturated, "
                    f"single p50 {pair[label]['p50_ms_single']:.2f} ms")
                time.sleep(pause_s)  # a server still shutting down slows the next one
            pair["drop"] = round(1 - pair["on"]["rps"] / pair["off"]["rps"], 4)
            pair["cpu_added"] = round(pair["on"]["front_door_cpu_us_per_request"] /
                                      pair["off"]["front_door_cpu_us_per_request"] - 1, 4)
            runs.append(pair)
    drops = [p["drop"] for p in runs]
    result = {
        "benchmark": "observability", "machine": describe(), "seconds": seconds,
        "command": "python -m benchmarks.observability " + " ".join(sys.argv[1:]),
        "layer_cpu_us_per_request": layer, "pairs": runs, "drop_mean": round(statistics.mean(drops), 4),
        "cpu_added_mean": round(statistics.mean(p["cpu_added"] for p in runs), 4),
        "goal_drop_le_0.05": statistics.mean(drops) <= 0.05,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for n, p in enumerate(runs):
        print(f"pair {n + 1}: off {p['off']['rps']:.0f} req/s, on {p['on']['rps']:.0f} req/s "
              f"(drop {p['drop']:+.1%}); front door CPU per request off "
              f"{p['off']['front_door_cpu_us_per_request']:.0f} us, "
              f"on {p['on']['front_door_cpu_us_per_request']:.0f} us "
              f"({p['cpu_added']:+.1%}); single p50 off {p['off']['p50_ms_single']:.2f} ms, "
              f"on {p['on']['p50_ms_single']:.2f} ms; access lines on {p['on']['access_lines']}, "
              f"off {p['off']['access_lines']}")
    print(f"outer layer CPU per request in process (us): {layer}")
    print(f"mean drop {result['drop_mean']:+.1%} (goal <= 5%: {'yes' if result['goal_drop_le_0.05'] else 'NO'}); "
          f"mean front door CPU added per request {result['cpu_added_mean']:+.1%}")
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--pause", type=float, default=5.0, help="seconds between servers")
    args = ap.parse_args(argv)
    return run(args.pairs, args.seconds, args.pause, args.out)


if __name__ == "__main__":
    main()
