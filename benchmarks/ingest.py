"""End-to-end ingest rate (first 202 -> all searchable) beside the raw encode rate of the same texts.

    python -m benchmarks.ingest --out benchmarks/out/ingest.json [--n 2000] [--batch 250]
    python -m benchmarks.ingest --corpus longmemeval --out benchmarks/out/ingest-long.json

Texts are LoCoMo turns (realistic chat lines, short), or with `--corpus longmemeval` the turns of
LongMemEval's haystack sessions (`../shared/data/longmemeval/`: chat-assistant answers, median
about 440 characters, the normal case for agent memory), written as a chat client writes them,
the role in the metadata. `stages` in the JSON is each pipeline
stage's busy seconds and rows over the run, read from the server's `/metrics` before and after
(actors/stage_timing.py), so where the time goes is in the result. The raw rates are sentence-transformers (PyTorch)
and the server's own engine (ONNX Runtime) encoding the same texts in this process, batched, on all
cores, while the server sits idle; the end-to-end rate is the server's whole write path: intake
log, parse, world-fact extraction, embed, dedupe, crystallize, SQLite + Lance + tantivy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.progress import Progress

from api.server_process import start_server
from benchmarks.locomo_data import DEFAULT_PATH, load
from prometheus_client.parser import text_string_to_metric_families
from benchmarks.machine import describe
from pipeline.encoder import load_encoder
from pipeline.parse import render_index_text


def texts_from_locomo(path: Path, n: int) -> list[str]:
    turns, _ = load(path)
    out = [f"{t.speaker}: {t.text}" for t in turns]
    while len(out) < n:  # more than LoCoMo holds: number the repeats so none is an exact duplicate
        out += [f"{t} (#{len(out) + i})" for i, t in enumerate(out[: n - len(out)])]
    return out[:n]


LONGMEMEVAL_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "longmemeval" / "longmemeval_s_sample60.json"


def items_from_longmemeval(path: Path, n: int) -> list[dict]:
    """Turns of the haystack sessions, in order, each once (the sample repeats sessions across
    questions), as a chat client writes them: the content, and the role in the metadata."""
    seen: set[str] = set()
    out: list[dict] = []
    for item in json.loads(path.read_text()):
        for session_id, session in zip(item["haystack_session_ids"], item["haystack_sessions"]):
            if session_id in seen:
                continue
            seen.add(session_id)
            out += [{"content": turn["content"], "kind": "message", "metadata": {"role": turn["role"]}}
                    for turn in session if turn.get("content")]
            if len(out) >= n:
                return out[:n]
    return out


def embedded_text(item: dict) -> str:
    """The text the server embeds for an item, as the parse stage renders it (speaker prefixed)."""
    return render_index_text(item["kind"], item["content"], item.get("metadata") or {})


def stage_figures(url: str) -> dict[str, dict[str, float]]:
    """Each stage's busy seconds and rows so far, from the server's /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in ("memos_stage_busy_seconds", "memos_stage_rows"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = "busy_s" if family.name == "memos_stage_busy_seconds" else "rows"
                out.setdefault(sample.labels["stage"], {})[key] = sample.value
    return out


def stage_delta(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]],
                wall_s: float) -> dict[str, dict[str, float]]:
    """Per stage over the run: busy seconds, rows, rows per busy second, and its share of the wall time."""
    out = {}
    for stage, figures in after.items():
        busy = figures.get("busy_s", 0.0) - before.get(stage, {}).get("busy_s", 0.0)
        rows = figures.get("rows", 0.0) - before.get(stage, {}).get("rows", 0.0)
        out[stage] = {"busy_s": round(busy, 3), "rows": int(rows),
                      "rows_per_busy_s": round(rows / busy, 1) if busy > 0 else None,
                      "share_of_wall": round(busy / wall_s, 3) if wall_s > 0 else None}
    return out


def encode_rate(texts: list[str], engine: str, batch_size: int, cache: Path) -> float:
    """Texts per second one process encodes on all cores: sentence-transformers (`torch`), or the
    server's own engine (`onnx`), each at its best batch size."""
    encoder = load_encoder("all-MiniLM-L6-v2", engine, cache, threads=os.cpu_count() or 1, batch_size=batch_size)
    encoder.encode(texts[:64])  # warm up
    start = time.perf_counter()
    for i in range(0, len(texts), 512):
        encoder.encode(texts[i : i + 512])
    return len(texts) / (time.perf_counter() - start)


def ingest_rate(url: str, items: list[dict], batch: int) -> dict[str, float]:
    with httpx.Client(base_url=url, headers={"X-Agent-Id": "bench_ingest"}, timeout=120) as c, \
            Progress(transient=True, console=None) as bar:
        task = bar.add_task("ingest", total=len(items))
        accept_ms: list[float] = []
        first = time.perf_counter()
        jobs = []
        for i in range(0, len(items), batch):
            t0 = time.perf_counter()
            r = c.post("/v1/memories/batch", json={"items": items[i : i + batch]})
            accept_ms.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            jobs.append(r.json()["job_id"])
        accepted = time.perf_counter() - first
        while True:  # one light poll: the backlog, not every job
            pending = c.get("/v1/health").json()["pending"]
            bar.update(task, completed=len(items) - pending)
            if pending == 0:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - first
        assert all(c.get(f"/v1/jobs/{j}").json()["status"] == "done" for j in jobs)
        last = items[-1]["content"]
        response = c.post("/v1/search", json={"query": last, "top_k": 5})
        assert response.status_code == 200, response.text
        probe = response.json()["results"]
        assert any(h["content"] == last for h in probe), "the last text is not searchable"
    return {"rate": len(items) / elapsed, "seconds": elapsed, "accept_seconds": accepted,
            "accept_ms_per_batch": sum(accept_ms) / len(accept_ms)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=250, help="items per POST /v1/memories/batch")
    ap.add_argument("--data", type=Path, default=None, help="the corpus file (default: the corpus's own)")
    ap.add_argument("--corpus", choices=["locomo", "longmemeval"], default="locomo",
                    help="short LoCoMo turns, or long LongMemEval turns")
    ap.add_argument("--world-model", choices=["true", "false"], default="true",
                    help="run the world-fact extract stage (the default server does)")
    ap.add_argument("--world-skip-roles", default=None, metavar="JSON",
                    help='roles not read for world facts, e.g. \'[]\' to read every turn (default: the server\'s)')
    args = ap.parse_args(argv)
    if args.corpus == "longmemeval":
        items = items_from_longmemeval(args.data or LONGMEMEVAL_PATH, args.n)
    else:
        items = [{"content": t, "kind": "message"} for t in texts_from_locomo(args.data or DEFAULT_PATH, args.n)]
    texts = [embedded_text(item) for item in items]
    with tempfile.TemporaryDirectory(prefix="memos-bench-") as tmp:
        overrides = {} if args.world_skip_roles is None else {"world_skip_roles": args.world_skip_roles}
        server = start_server(Path(tmp) / "data", world_model=args.world_model, **overrides)
        try:
            print("measuring raw encode rates (server idle) ...", file=sys.stderr)
            raw_st = encode_rate(texts, "torch", 64, Path(tmp) / "data" / "models")
            raw_onnx = encode_rate(texts, "onnx", 16, Path(tmp) / "data" / "models")
            print("measuring end-to-end ingest ...", file=sys.stderr)
            before = stage_figures(server.url)
            e2e = ingest_rate(server.url, items, args.batch)
            stages = stage_delta(before, stage_figures(server.url), e2e["seconds"])
        finally:
            server.stop()
    result = {
        "benchmark": "ingest",
        "n": len(texts),
        "corpus": args.corpus,
        "median_chars": sorted(len(t) for t in texts)[len(texts) // 2],
        "world_model": args.world_model == "true",
        "world_skip_roles": json.loads(args.world_skip_roles) if args.world_skip_roles is not None else "default",
        "encode_rate": round(raw_st, 1),
        "engine_encode_rate": round(raw_onnx, 1),
        "ingest": {k: round(v, 3) for k, v in e2e.items()},
        "ratio": round(e2e["rate"] / raw_st, 3),
        "engine_ratio": round(e2e["rate"] / raw_onnx, 3),
        "stages": stages,
        "machine": describe(),
        "command": "python -m benchmarks.ingest " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"raw encode: sentence-transformers {raw_st:.1f} texts/s, onnx {raw_onnx:.1f} | end to end "
          f"{e2e['rate']:.1f} texts/s | ratio {result['ratio']:.2f} (vs onnx {result['engine_ratio']:.2f}; goal >= 0.85)")
    for stage, f in sorted(stages.items(), key=lambda kv: -kv[1]["busy_s"]):
        print(f"  {stage:<14} busy {f['busy_s']:8.2f} s  {f['rows']:7d} rows  {f['rows_per_busy_s']} rows/busy s  "
              f"{f['share_of_wall']} of the wall time")
    return result


if __name__ == "__main__":
    main()
