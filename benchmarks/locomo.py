"""LoCoMo retrieval harness: turn-level evidence recall of the product's own write and search paths.

    python -m benchmarks.locomo --data ../shared/data/locomo/locomo10.json --out benchmarks/out/locomo.json
    python -m benchmarks.locomo --data FILE --out FILE.json --config default   # one configuration

Each conversation is one agent; every turn is written through POST /v1/memories/batch as a message
(id = its dia_id, speaker, session, image caption, created_at = the session's time plus one second a
turn). Questions of categories 1-4 with valid evidence are asked through POST /v1/search over every
tier, as an agent asks (near duplicates not folded, so every turn can be counted; a world fact
found counts as the turns it was read from, each turn once). Metrics come from ir-measures:
recall@5/10/20, MRR, nDCG@10, overall, per category, and on the tuning half (conversations 0-4) and
the held-out half (5-9) separately; plus recall inside a 1,000-token budget (the server's own
`max_tokens` cut). Every configuration is a per-request `ranking` override on one ingest; the
ingest uses the server's defaults (world model on) and, side by side, the world model off; each
ingest is kept in benchmarks/cache and reused while nothing that shapes the index changes
(benchmarks/locomo_cache.py). The long-query view asks each question at the end of four turns of
another conversation, as an agent sends its recent context.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import ir_measures
from ir_measures import RR, R, nDCG
from tqdm import tqdm

from api.server_process import start_server
from benchmarks.locomo_cache import cached_dir, clear, ingested, mark_ingested
from benchmarks.locomo_data import DEFAULT_PATH, Question, Turn, load
from benchmarks.locomo_long_query import wrap_in_chat
from benchmarks.machine import describe

# Round one's ranking: its fusion and own-text weights, no month boost, no session credit, no speaker
# steps, a long query as one.
ROUND1: dict[str, Any] = {"rrf_k": 10, "bm25_weight": 1.0, "vector_weight": 0.3, "content_boost": 0.45,
                          "time_weight": 0, "session_share": 0,
                          "speaker_weight": 0, "strip_speakers": False, "segment_words": 0}
# Per-request ranking overrides; {} is the server's default configuration.
CONFIGS: dict[str, dict[str, Any]] = {
    "bm25": {**ROUND1, "channels": ["bm25"], "context": False},
    "vector": {**ROUND1, "channels": ["vector"]},
    "vector-names-out": {**ROUND1, "channels": ["vector"], "strip_speakers": True},  # the speakers' names left out
    "rrf": {**ROUND1, "rrf_k": 60, "bm25_weight": 1.0, "vector_weight": 1.0, "context": False},
    "rrf+weighted": {**ROUND1, "context": False},
    "bm25+context": {**ROUND1, "channels": ["bm25"]},
    "rrf+context": {**ROUND1, "rrf_k": 60, "bm25_weight": 1.0, "vector_weight": 1.0},
    "round1": ROUND1,  # round one's default: context + weighted RRF
    "default+mmr": {**ROUND1, "mmr_lambda": 0.7},
    "default+recency": {**ROUND1, "recency_half_life_days": 14},
    "default-time": {"time_weight": 0},  # the default without one of round two's steps
    "default-session": {"session_share": 0},
    "default-segments": {"segment_words": 0},
    "default-speaker": {"speaker_weight": 0, "strip_speakers": False},  # without either speaker step
    "default-strip": {"strip_speakers": False},  # the speaker boost without the name-free query
    "default+vector0.45": {"vector_weight": 0.45},  # the vector channel weighted up
    "default+vector0.6": {"vector_weight": 0.6},
    "default": {},  # the server's default: round one + month boost, session credit, speaker boost, long queries in segments
}
DEFAULT = "default"
LONG_VIEW = ("round1", "default")  # configurations also run on the long-query view
TUNING_CONVERSATIONS = 5  # the first five conversations tune; the rest are held out
BUDGET_TOKENS = 1000
DEPTH = 20
MEASURES = {"5": R @ 5, "10": R @ 10, "20": R @ 20}
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


def agent_of(conversation: str) -> str:
    return "locomo-" + "".join(c if c.isalnum() or c in "_-" else "_" for c in conversation)


def memory_of(turn: Turn, index: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {"speaker": turn.speaker, "session": turn.session, "dia_id": turn.dia_id}
    if turn.caption:
        metadata["caption"] = turn.caption
    item: dict[str, Any] = {"id": turn.dia_id, "content": turn.text or "(image)", "kind": "message", "metadata": metadata}
    if turn.session_time is not None:
        item["created_at"] = (turn.session_time + timedelta(seconds=index)).isoformat()
    return item


def settled(client: httpx.Client, accepted: httpx.Response, agent: str, limit_s: float = 3600) -> None:
    """Returns once a batch is written and searchable: `?wait=true` answers 202 (still queued) when the
    write path is slower than its wait timeout, so the job is polled until it is done."""
    accepted.raise_for_status()
    body = accepted.json()
    deadline = time.monotonic() + limit_s
    while body["status"] not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {body.get('job_id') or body.get('id')} not done after {limit_s} s")
        time.sleep(1.0)
        r = client.get(f"/v1/jobs/{body.get('job_id') or body['id']}", headers={"X-Agent-Id": agent})
        r.raise_for_status()
        body = r.json()
    if body["status"] == "failed":
        raise RuntimeError(f"ingest job failed: {body}")


def drained(client: httpx.Client, limit_s: float = 3600) -> None:
    """Returns once the server's write backlog is empty (a reused data directory may hold accepted
    writes that a stopped server had not yet applied; they are applied on start)."""
    deadline = time.monotonic() + limit_s
    while (health := client.get("/v1/health").json()).get("pending", 0) or health.get("status") == "starting":
        if time.monotonic() > deadline:
            raise TimeoutError(f"write backlog not drained after {limit_s} s: {health}")
        time.sleep(1.0)


def ingest(client: httpx.Client, turns: list[Turn], batch: int = 500) -> dict[str, float]:
    """Write every turn (each conversation in order), waiting until all are searchable."""
    start = time.perf_counter()
    by_conv: dict[str, list[Turn]] = {}
    for turn in turns:
        by_conv.setdefault(turn.conversation, []).append(turn)
    with tqdm(total=len(turns), desc="ingest", unit="turn") as bar:
        for conversation, conv_turns in by_conv.items():
            session_index: dict[int, int] = {}
            items = []
            for turn in conv_turns:
                session_index[turn.session] = session_index.get(turn.session, -1) + 1
                items.append(memory_of(turn, session_index[turn.session]))
            for i in range(0, len(items), batch):
                r = client.post("/v1/memories/batch", params={"wait": "true"}, json={"items": items[i : i + batch]},
                                headers={"X-Agent-Id": agent_of(conversation)}, timeout=600)
                settled(client, r, agent_of(conversation))
                bar.update(len(items[i : i + batch]))
    seconds = time.perf_counter() - start
    return {"turns": len(turns), "seconds": round(seconds, 1), "turns_per_s": round(len(turns) / seconds, 1)}


def answerable(turns: list[Turn], questions: list[Question]) -> list[tuple[Question, tuple[str, ...]]]:
    """Categories 1-4, evidence ids repaired and kept only where they name a turn; questions left without any dropped."""
    known = {(t.conversation, t.dia_id) for t in turns}
    out = []
    for q in questions:
        evidence = tuple(e for e in q.evidence if (q.conversation, e) in known)
        if q.category in CATEGORIES and evidence:
            out.append((q, evidence))
    return out


def search(client: httpx.Client, q: Question, ranking: dict[str, Any], query: str | None = None,
           **extra: Any) -> dict[str, Any]:
    body = {"query": query or q.question, "top_k": DEPTH, "collapse": False, "ranking": ranking, **extra}
    r = client.post("/v1/search", json=body, headers={"X-Agent-Id": agent_of(q.conversation)})
    r.raise_for_status()
    return r.json()


def long_queries(turns: list[Turn], items: list[tuple[Question, tuple[str, ...]]]) -> list[str]:
    """Each question at the end of a few turns of another conversation (benchmarks/locomo_long_query.py)."""
    pool: dict[str, list[str]] = {}
    for t in turns:
        if t.text:
            pool.setdefault(t.conversation, []).append(f"{t.speaker}: {t.text}")
    return [wrap_in_chat(q.question, q.conversation, pool, i) for i, (q, _) in enumerate(items)]


def hit_ids(out: dict[str, Any]) -> list[str]:
    """The turns a search found, in rank order: a trace as itself, a derived memory (a world fact) as
    the turns it came from, each turn once. The search covers every tier, as an agent's does."""
    ids: list[str] = []
    for h in out["results"]:
        for i in ([h["id"]] if h["tier"] == "trace" else (h.get("metadata") or {}).get("source_ids") or []):
            if i not in ids:
                ids.append(i)
    return ids


def run_config(client: httpx.Client, items: list[tuple[Question, tuple[str, ...]]], name: str,
               queries: list[str] | None = None) -> dict[str, Any]:
    ranking = CONFIGS[name]
    runs: list[list[str]] = []
    budget_hits: list[list[str]] = []
    latency: list[float] = []
    used: list[int] = []
    for i, (q, _) in enumerate(tqdm(items, desc=f"search {name}" + (" (long)" if queries else ""), unit="q")):
        query = queries[i] if queries else None
        t0 = time.perf_counter()
        out = search(client, q, ranking, query)
        latency.append((time.perf_counter() - t0) * 1000)
        runs.append(hit_ids(out))
        if queries:  # the long-query view measures recall and latency; the budget is the clean view's
            budget_hits.append(runs[-1])
            used.append(0)
            continue
        fit = search(client, q, ranking, query, top_k=100, max_tokens=BUDGET_TOKENS)
        budget_hits.append(hit_ids(fit))
        used.append(fit["used_tokens"])
    return scores(items, runs, budget_hits, latency, used)


def evaluate(items: list[tuple[Question, tuple[str, ...]]], runs: list[list[str]],
             keep: Callable[[Question], bool] = lambda q: True) -> dict[str, Any]:
    qrels, run = [], []
    n = 0
    for i, ((q, evidence), ranked) in enumerate(zip(items, runs)):
        if not keep(q):
            continue
        n += 1
        qrels += [ir_measures.Qrel(str(i), e, 1) for e in evidence]
        run += [ir_measures.ScoredDoc(str(i), doc, float(len(ranked) - rank)) for rank, doc in enumerate(ranked)]
    if n == 0:
        return {"n_questions": 0}
    # Questions whose search found nothing still count (as zero) for every measure.
    agg = ir_measures.calc_aggregate([*MEASURES.values(), RR, nDCG @ 10], qrels, run)
    found = {q.query_id for q in run}
    scale = len(found) / n
    return {
        "n_questions": n,
        "recall": {k: round(agg[m] * scale, 4) for k, m in MEASURES.items()},
        "mrr": round(agg[RR] * scale, 4),
        "ndcg10": round(agg[nDCG @ 10] * scale, 4),
    }


def scores(items, runs, budget_hits, latency, used) -> dict[str, Any]:
    tuning = tuning_conversations(items)
    out = evaluate(items, runs)
    out["per_category"] = {
        str(c): {"name": name, **evaluate(items, runs, lambda q, c=c: q.category == c)} for c, name in CATEGORIES.items()
    }
    out["tuning"] = evaluate(items, runs, lambda q: q.conversation in tuning)
    out["held_out"] = evaluate(items, runs, lambda q: q.conversation not in tuning)
    budget_recall = [sum(e in set(hits) for e in ev) / len(ev) for (_, ev), hits in zip(items, budget_hits)]
    out["budget"] = {
        "max_tokens": BUDGET_TOKENS,
        "recall": round(statistics.fmean(budget_recall), 4),
        "mean_memories": round(statistics.fmean(len(h) for h in budget_hits), 1),
        "mean_used_tokens": round(statistics.fmean(used), 1),
    }
    ordered = sorted(latency)
    out["latency_ms"] = {
        "p50": round(ordered[len(ordered) // 2], 2),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
    }
    return out


def tuning_conversations(items: list[tuple[Question, tuple[str, ...]]]) -> set[str]:
    order = list(dict.fromkeys(q.conversation for q, _ in items))
    return set(order[:TUNING_CONVERSATIONS])


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["configs"])
    bars = [("R@5", lambda c: c["recall"]["5"]), ("R@10", lambda c: c["recall"]["10"]),
            ("R@10 held-out", lambda c: c["held_out"].get("recall", {}).get("10", 0.0)), ("R@1k tokens", lambda c: c["budget"]["recall"])]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(names)), 4.5))
    width = 0.8 / len(bars)
    for j, (label, get) in enumerate(bars):
        xs = [i + (j - (len(bars) - 1) / 2) * width for i in range(len(names))]
        ax.bar(xs, [get(result["configs"][n]) for n in names], width, label=label)
    ax.axhline(0.80, color="#c33", lw=0.8, ls="--", label="R@10 target 0.80")
    ax.axhline(0.70, color="#36c", lw=0.8, ls=":", label="R@5 target 0.70")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("turn-level evidence recall")
    ax.set_title(f"LoCoMo retrieval ({result['n_questions']} questions) — {result['machine']['cpu']}")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def run_ingest(data: Path, turns: list[Turn], world_model: bool, data_dir: Path | None,
               use_cache: bool) -> tuple[Path | None, dict[str, Any]]:
    """A data directory holding the whole ingest (reused from benchmarks/cache when nothing that shapes
    the index changed), and the ingest figures; None: ingest into a temporary directory on start."""
    if data_dir is None and use_cache:
        data_dir = cached_dir(data, "locomo", world_model, inspect.getsource(memory_of))
    if data_dir is not None and (done := ingested(data_dir)) is not None:
        return data_dir, {**done, "reused": str(data_dir)}
    return data_dir, {}


def run_world(args: argparse.Namespace, turns: list[Turn], items: list[tuple[Question, tuple[str, ...]]],
              names: list[str], world_model: bool) -> dict[str, Any]:
    """One ingest (world model on or off, else the server's defaults) and every configuration on it."""
    data_dir, done = run_ingest(args.data, turns, world_model, args.data_dir, not args.no_cache)
    with tempfile.TemporaryDirectory(prefix="memos-locomo-") as tmp:
        where = data_dir or Path(tmp) / "data"
        if not done:
            clear(where)
        settings = {} if world_model else {"world_model": "false"}
        server = start_server(where, prefetch="false", **settings)
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                if not done:
                    done = ingest(client, turns)
                    if data_dir is not None:
                        mark_ingested(data_dir, done)
                drained(client)
                configs = {name: run_config(client, items, name) for name in names}
                wrapped = long_queries(turns, items)
                long_view = {name: run_config(client, items, name, wrapped) for name in LONG_VIEW if name in names}
        finally:
            server.stop()
    return {"world_model": world_model, "ingest": done, "configs": configs, "long_query": long_view}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_PATH, help="a file in the LoCoMo schema")
    ap.add_argument("--out", type=Path, required=True, help="where the JSON goes (the plot beside it, .png)")
    ap.add_argument("--config", choices=sorted(CONFIGS), action="append",
                    help="run only this configuration (repeatable; default: all of them)")
    ap.add_argument("--world-model", choices=["both", "on", "off"], default="both",
                    help="ingest with the world model on (the server default), off, or both side by side")
    ap.add_argument("--data-dir", type=Path, help="the server's data directory (default: one in benchmarks/cache)")
    ap.add_argument("--no-cache", action="store_true", help="ingest into a temporary directory, reuse nothing")
    args = ap.parse_args(argv)

    turns, questions = load(args.data)
    items = answerable(turns, questions)
    names = args.config or list(CONFIGS)
    worlds = {"both": [True, False], "on": [True], "off": [False]}[args.world_model]
    runs = {("world_model_on" if w else "world_model_off"): run_world(args, turns, items, names, w) for w in worlds}
    main_run = runs.get("world_model_on") or runs["world_model_off"]
    main_name = DEFAULT if DEFAULT in names else names[0]
    configs = main_run["configs"]
    result = {
        **configs[main_name],
        "config": main_name,
        "world_model": main_run["world_model"],
        "data": str(args.data),
        "ingest": main_run["ingest"],
        "configs": configs,
        "long_query": main_run["long_query"],
        "runs": {k: {key: v[key] for key in ("world_model", "ingest", "configs", "long_query")} for k, v in runs.items()},
        "machine": describe(),
        "command": "python -m benchmarks.locomo " + " ".join(argv if argv is not None else []),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(result, args.out.with_suffix(".png"))
    for run_name, run in runs.items():
        views = {**run["configs"], **{f"{n} (long query)": c for n, c in run["long_query"].items()}}
        print(run_name, json.dumps({n: summary(c) for n, c in views.items()}, indent=1))
        print(f"ingest: {run['ingest']}")
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return result


def summary(c: dict[str, Any]) -> dict[str, Any]:
    return {"R@5": c["recall"]["5"], "R@10": c["recall"]["10"], "R@20": c["recall"]["20"],
            "tuning_R@10": c["tuning"].get("recall", {}).get("10"),
            "held_out_R@5": c["held_out"].get("recall", {}).get("5"),
            "held_out_R@10": c["held_out"].get("recall", {}).get("10"), "mrr": c["mrr"],
            "per_category_R@10": {k: v.get("recall", {}).get("10") for k, v in c["per_category"].items()},
            "budget_R": c["budget"]["recall"], "p50_ms": c["latency_ms"]["p50"]}


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
