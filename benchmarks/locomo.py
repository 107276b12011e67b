"""LoCoMo retrieval harness: turn-level evidence recall of the product's own write and search paths.

    python -m benchmarks.locomo --data ../shared/data/locomo/locomo10.json --out benchmarks/out/locomo.json
    python -m benchmarks.locomo --data FILE --out FILE.json --config default   # one configuration

Each conversation is one agent; every turn is written through POST /v1/memories/batch as a message
(id = its dia_id, speaker, session, image caption, created_at = the session's time plus one second a
turn). Questions of categories 1-4 with valid evidence are asked through POST /v1/search (traces
only, near duplicates not folded, so every turn can be counted). Metrics come from ir-measures:
recall@5/10/20, MRR, nDCG@10, overall, per category, and on the tuning half (conversations 0-4) and
the held-out half (5-9) separately; plus recall inside a 1,000-token budget (the server's own
`max_tokens` cut). Every configuration is a per-request `ranking` override on one ingest.
"""

from __future__ import annotations

import argparse
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
from benchmarks.locomo_data import DEFAULT_PATH, Question, Turn, load
from benchmarks.machine import describe

# Per-request ranking overrides; {} is the server's default configuration.
CONFIGS: dict[str, dict[str, Any]] = {
    "bm25": {"channels": ["bm25"], "context": False},
    "vector": {"channels": ["vector"]},
    "rrf": {"rrf_k": 60, "bm25_weight": 1.0, "vector_weight": 1.0, "context": False},
    "rrf+weighted": {"context": False},
    "bm25+context": {"channels": ["bm25"]},
    "rrf+context": {"rrf_k": 60, "bm25_weight": 1.0, "vector_weight": 1.0},
    "default": {},
    "default+mmr": {"mmr_lambda": 0.7},
    "default+recency": {"recency_half_life_days": 14},
}
DEFAULT = "default"
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
                r.raise_for_status()
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


def search(client: httpx.Client, q: Question, ranking: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"query": q.question, "top_k": DEPTH, "tiers": ["trace"], "collapse": False, "ranking": ranking, **extra}
    r = client.post("/v1/search", json=body, headers={"X-Agent-Id": agent_of(q.conversation)})
    r.raise_for_status()
    return r.json()


def run_config(client: httpx.Client, items: list[tuple[Question, tuple[str, ...]]], name: str) -> dict[str, Any]:
    ranking = CONFIGS[name]
    runs: list[list[str]] = []
    budget_hits: list[list[str]] = []
    latency: list[float] = []
    used: list[int] = []
    for q, _ in tqdm(items, desc=f"search {name}", unit="q"):
        t0 = time.perf_counter()
        out = search(client, q, ranking)
        latency.append((time.perf_counter() - t0) * 1000)
        runs.append([h["id"] for h in out["results"]])
        fit = search(client, q, ranking, top_k=100, max_tokens=BUDGET_TOKENS)
        budget_hits.append([h["id"] for h in fit["results"]])
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
    ax.axhline(0.70, color="#c33", lw=0.8, ls="--", label="R@10 target 0.70")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("turn-level evidence recall")
    ax.set_title(f"LoCoMo retrieval ({result['n_questions']} questions) — {result['machine']['cpu']}")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_PATH, help="a file in the LoCoMo schema")
    ap.add_argument("--out", type=Path, required=True, help="where the JSON goes (the plot beside it, .png)")
    ap.add_argument("--config", choices=sorted(CONFIGS), help="run one configuration (default: all of them)")
    ap.add_argument("--data-dir", type=Path, help="the server's data directory (default: a temporary one)")
    args = ap.parse_args(argv)

    turns, questions = load(args.data)
    items = answerable(turns, questions)
    names = [args.config] if args.config else list(CONFIGS)
    with tempfile.TemporaryDirectory(prefix="memos-locomo-") as tmp:
        server = start_server(args.data_dir or Path(tmp) / "data", world_model="false", prefetch="false")
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                ingested = ingest(client, turns)
                configs = {name: run_config(client, items, name) for name in names}
        finally:
            server.stop()
    main_name = args.config or DEFAULT
    result = {
        **configs[main_name],
        "config": main_name,
        "data": str(args.data),
        "ingest": ingested,
        "configs": configs,
        "machine": describe(),
        "command": "python -m benchmarks.locomo " + " ".join(argv if argv is not None else []),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(result, args.out.with_suffix(".png"))
    print(json.dumps({n: {"R@5": c["recall"]["5"], "R@10": c["recall"]["10"], "R@20": c["recall"]["20"],
                          "held_out_R@10": c["held_out"].get("recall", {}).get("10"), "mrr": c["mrr"],
                          "budget_R": c["budget"]["recall"], "p50_ms": c["latency_ms"]["p50"]}
                      for n, c in configs.items()}, indent=1))
    print(f"ingest: {ingested}; wrote {args.out} and {args.out.with_suffix('.png')}")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
