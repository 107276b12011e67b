"""LongMemEval retrieval harness: session- and turn-level evidence recall of the product's own write and search paths.

    python -m benchmarks.longmemeval --data ../shared/data/longmemeval/longmemeval_s_sample60.json --out benchmarks/out/longmemeval.json
    python -m benchmarks.longmemeval --data FILE --out FILE.json --per-type 2 --world-model on   # a quick look

Each question is its own agent with its own haystack (LongMemEval-S: 38-58 sessions, ~500 turns).
Every turn is written through POST /v1/memories/batch as a message (id = `<session id>:<index>`,
the role as speaker, created_at = the session's date plus one second a turn), then the question is
asked through POST /v1/search over every tier (a world fact found counts as the turns it was read
from). Scores, leaving out the `_abs` (abstention) questions as the paper does:
- `recall_all@k`, the paper's "Recall@k": 1 when every evidence item is in the top k, else 0;
  at session level (sessions ranked by their best turn) and at turn level (`has_answer` turns);
- `recall@k`, our averaged recall: the share of a question's evidence items in the top k.
The paper's published figures are on the larger `_M` haystacks (about 500 sessions a question), so
they are indicative only next to these `_S` figures. Each configuration is a per-request `ranking`
override on one ingest (world model on, the server default, and off, side by side), kept in
benchmarks/cache while nothing that shapes the index changes. The ingest writes `--ingest-agents`
questions at once (default 4; each agent's batches in order), so the pipeline's stages overlap, and
records where the server spent its time (each stage's busy seconds from /metrics).
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from api.server_process import start_server
from benchmarks.locomo import CONFIGS, drained, hit_ids, settled
from benchmarks.locomo_cache import cached_dir, clear, ingested, mark_ingested
from benchmarks.locomo_long_query import wrap_in_chat
from benchmarks.longmemeval_data import DEFAULT_PATH, Question, load
from benchmarks.machine import describe

NAMES = ("bm25", "vector", "bm25+context", "round1", "default")  # configurations run by default
DEFAULT = "default"
LONG_VIEW = ("round1", "default")
KS = (5, 10)
DEPTH = 50  # enough ranked turns that the session ranking reaches 10 distinct sessions
LEVELS = ("session", "turn")
MAX_CONTENT_CHARS = 32_768  # the server's default max_content_chars
PAPER_M = {  # the paper's figures on LongMemEval-M (Stella V5 1.5B; and with fact-augmented keys)
    "session": {"recall_all@5": 0.783, "recall_all@10": 0.862},
    "turn": {"recall_all@10": 0.692, "recall_all@10 fact-augmented": 0.784},
}


def agent_of(question: Question) -> str:
    return "lme-" + "".join(c if c.isalnum() or c in "_-" else "_" for c in question.id)[:60]


def session_of(turn: str) -> str:
    return turn.rsplit(":", 1)[0]


def ranked_sessions(turns: Sequence[str]) -> list[str]:
    """Sessions in the order of their best-ranked turn, each once."""
    return list(dict.fromkeys(session_of(t) for t in turns))


def recall_all(ranked: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """The paper's Recall@k: 1.0 only when every evidence item is within the top k."""
    top = set(ranked[:k])
    return float(all(e in top for e in evidence))


def recall_share(ranked: Sequence[str], evidence: Sequence[str], k: int) -> float:
    top = set(ranked[:k])
    return sum(e in top for e in evidence) / len(evidence)


def question_scores(ranked_turns: Sequence[str], q: Question) -> dict[str, dict[str, float]]:
    """One question's recall_all@k and averaged recall@k at session and turn level."""
    levels = {"session": (ranked_sessions(ranked_turns), q.evidence_sessions),
              "turn": (list(ranked_turns), q.evidence_turns)}
    out: dict[str, dict[str, float]] = {}
    for level, (ranked, evidence) in levels.items():
        out[level] = {}
        for k in KS:
            out[level][f"recall_all@{k}"] = recall_all(ranked, evidence, k)
            out[level][f"recall@{k}"] = recall_share(ranked, evidence, k)
    return out


def aggregate(per_question: Sequence[dict[str, dict[str, float]]]) -> dict[str, Any]:
    if not per_question:
        return {"n_questions": 0}
    return {"n_questions": len(per_question),
            **{level: {m: round(statistics.fmean(p[level][m] for p in per_question), 4) for m in per_question[0][level]}
               for level in LEVELS}}


def scored(questions: Sequence[Question], runs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Overall and per question type, `_abs` questions left out."""
    kept = [(q, question_scores(r, q)) for q, r in zip(questions, runs) if not q.abstention]
    out = aggregate([s for _, s in kept])
    types = sorted({q.type for q, _ in kept})
    out["per_type"] = {t: aggregate([s for q, s in kept if q.type == t]) for t in types}
    return out


def memory_of(question: Question, index_in_session: int, turn) -> dict[str, Any]:  # noqa: ANN001
    # The server refuses content over max_content_chars (32,768 by default) with 413; one turn of the
    # sample (852ce960's sharegpt_FYhsZ0Q_0:0, 76,560 characters, no evidence) is longer, so it is cut.
    item: dict[str, Any] = {"id": turn.id, "content": (turn.text or "(empty)")[:MAX_CONTENT_CHARS], "kind": "message",
                            "metadata": {"role": turn.role, "session": turn.session}}
    if turn.time is not None:
        item["created_at"] = (turn.time + timedelta(seconds=index_in_session)).isoformat()
    return item


def items_of(question: Question) -> list[dict[str, Any]]:
    """A question's haystack as batch items, in session order."""
    position: dict[str, int] = {}
    items = []
    for t in question.turns:
        position[t.session] = position.get(t.session, -1) + 1
        items.append(memory_of(question, position[t.session], t))
    return items


def stage_busy(client: httpx.Client) -> dict[str, float]:
    """Seconds each pipeline stage has spent processing so far (the server's /metrics)."""
    out: dict[str, float] = {}
    r = client.get("/metrics")
    if r.status_code != 200:  # metrics turned off: the profile is left empty, the figures stand
        return out
    for line in r.text.splitlines():
        if line.startswith("memos_stage_busy_seconds_total{"):
            stage = line.split('stage="', 1)[1].split('"', 1)[0]
            out[stage] = float(line.rsplit(" ", 1)[1])
    return out


def ingest(client: httpx.Client, questions: Sequence[Question], batch: int = 250, agents: int = 4) -> dict[str, Any]:
    """Every question's haystack into its own agent, waiting until all of it is searchable.

    `agents` questions are written at once (each agent's batches still in order, each waited for with
    `?wait=true`), so one agent's batch is parsed while another's is embedded and a third's written:
    one agent at a time leaves every stage but one idle. What is measured does not change: each
    agent's writes are the same, and nothing is searched before every write is done and drained."""
    start = time.perf_counter()
    total = sum(len(q.turns) for q in questions)
    busy_before = stage_busy(client)
    batch_seconds: list[float] = []

    def one_agent(q: Question, bar: tqdm) -> None:
        items = items_of(q)
        for i in range(0, len(items), batch):
            t0 = time.perf_counter()
            r = client.post("/v1/memories/batch", params={"wait": "true"}, json={"items": items[i : i + batch]},
                            headers={"X-Agent-Id": agent_of(q)}, timeout=1800)
            settled(client, r, agent_of(q))
            batch_seconds.append(time.perf_counter() - t0)
            bar.update(len(items[i : i + batch]))

    with tqdm(total=total, desc=f"ingest ({agents} agents at once)", unit="turn") as bar:
        with ThreadPoolExecutor(max_workers=max(1, agents)) as pool:
            for f in [pool.submit(one_agent, q, bar) for q in questions]:
                f.result()  # re-raises the first failed agent's error
    drained(client)
    seconds = time.perf_counter() - start
    busy = {k: round(v - busy_before.get(k, 0.0), 1) for k, v in stage_busy(client).items()}
    ordered = sorted(batch_seconds) or [0.0]
    return {"questions": len(questions), "turns": total, "seconds": round(seconds, 1),
            "turns_per_s": round(total / seconds, 1), "agents_at_once": agents, "batch_turns": batch,
            "batch_seconds_p50": round(ordered[len(ordered) // 2], 1),
            "stage_busy_seconds": dict(sorted(busy.items(), key=lambda kv: -kv[1]))}


def long_queries(questions: Sequence[Question]) -> list[str]:
    """Each question at the end of four turns of another question's haystack."""
    pool = {q.id: [f"{t.role}: {t.text}" for t in q.turns[:200] if t.text] for q in questions}
    return [wrap_in_chat(q.question, q.id, pool, i) for i, q in enumerate(questions)]


def run_config(client: httpx.Client, questions: Sequence[Question], name: str,
               queries: Sequence[str] | None = None) -> dict[str, Any]:
    runs: list[list[str]] = []
    latency: list[float] = []
    for i, q in enumerate(tqdm(questions, desc=f"search {name}" + (" (long)" if queries else ""), unit="q")):
        body = {"query": queries[i] if queries else q.question, "top_k": DEPTH, "collapse": False,
                "ranking": CONFIGS[name]}
        t0 = time.perf_counter()
        r = client.post("/v1/search", json=body, headers={"X-Agent-Id": agent_of(q)})
        latency.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        runs.append(hit_ids(r.json()))
    out = scored(questions, runs)
    ordered = sorted(latency)
    out["latency_ms"] = {"p50": round(ordered[len(ordered) // 2], 2),
                         "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2)}
    return out


def pick(questions: list[Question], per_type: int | None) -> list[Question]:
    """The first `per_type` questions of each type, in file order (all of them when None)."""
    if per_type is None:
        return questions
    seen: dict[str, int] = {}
    out = []
    for q in questions:
        seen[q.type] = seen.get(q.type, 0) + 1
        if seen[q.type] <= per_type:
            out.append(q)
    return out


def run_world(args: argparse.Namespace, questions: list[Question], names: Sequence[str],
              world_model: bool) -> dict[str, Any]:
    data_dir = args.data_dir
    if data_dir is None and not args.no_cache:
        data_dir = cached_dir(args.data, "longmemeval", world_model,
                              ",".join(q.id for q in questions) + inspect.getsource(memory_of))
    done = ingested(data_dir) if data_dir is not None else None
    with tempfile.TemporaryDirectory(prefix="memos-longmemeval-") as tmp:
        where = data_dir or Path(tmp) / "data"
        if done is None:
            clear(where)
        settings = {} if world_model else {"world_model": "false"}
        server = start_server(where, prefetch="false", **settings)
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                if done is None:
                    done = ingest(client, questions, agents=args.ingest_agents)
                    if data_dir is not None:
                        mark_ingested(data_dir, done)
                else:
                    done = {**done, "reused": str(data_dir)}
                drained(client)
                configs = {name: run_config(client, questions, name) for name in names}
                wrapped = long_queries(questions)
                long_view = {name: run_config(client, questions, name, wrapped) for name in LONG_VIEW if name in names}
        finally:
            server.stop()
    return {"world_model": world_model, "ingest": done, "configs": configs, "long_query": long_view}


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    views = {**{f"{k} wm-{'on' if r['world_model'] else 'off'}": c for k2, r in result["runs"].items()
                for k, c in r["configs"].items()}}
    names = list(views)
    bars = [(f"{level} all@{k}", level, f"recall_all@{k}") for level in LEVELS for k in KS]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(names)), 4.5))
    width = 0.8 / len(bars)
    for j, (label, level, m) in enumerate(bars):
        xs = [i + (j - (len(bars) - 1) / 2) * width for i in range(len(names))]
        ax.bar(xs, [views[n].get(level, {}).get(m, 0.0) for n in names], width, label=label)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("recall_all@k (all evidence in the top k)")
    ax.set_title(f"LongMemEval-S retrieval ({result['n_questions']} questions, _abs left out) — {result['machine']['cpu']}")
    ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_PATH, help="a file in the LongMemEval schema")
    ap.add_argument("--out", type=Path, required=True, help="where the JSON goes (the plot beside it, .png)")
    ap.add_argument("--config", choices=sorted(CONFIGS), action="append",
                    help=f"run only this configuration (repeatable; default: {', '.join(NAMES)})")
    ap.add_argument("--world-model", choices=["both", "on", "off"], default="both",
                    help="ingest with the world model on (the server default), off, or both side by side")
    ap.add_argument("--per-type", type=int, help="only the first N questions of each question type")
    ap.add_argument("--data-dir", type=Path, help="the server's data directory (default: one in benchmarks/cache)")
    ap.add_argument("--ingest-agents", type=int, default=4,
                    help="questions (agents) ingested at once, each agent's batches in order (1: one at a time)")
    ap.add_argument("--no-cache", action="store_true", help="ingest into a temporary directory, reuse nothing")
    args = ap.parse_args(argv)

    questions = pick(load(args.data), args.per_type)
    names = args.config or list(NAMES)
    worlds = {"both": [True, False], "on": [True], "off": [False]}[args.world_model]
    runs = {("world_model_on" if w else "world_model_off"): run_world(args, questions, names, w) for w in worlds}
    main_run = runs.get("world_model_on") or runs["world_model_off"]
    main_name = DEFAULT if DEFAULT in names else names[0]
    result = {
        **main_run["configs"][main_name],
        "config": main_name,
        "world_model": main_run["world_model"],
        "data": str(args.data),
        "abstention_left_out": sum(q.abstention for q in questions),
        "ingest": main_run["ingest"],
        "configs": main_run["configs"],
        "long_query": main_run["long_query"],
        "runs": runs,
        "paper_M_reference": PAPER_M,
        "note": "The paper's figures are on the larger _M haystacks; these are on _S, so only indicative.",
        "machine": describe(),
        "command": "python -m benchmarks.longmemeval " + " ".join(argv if argv is not None else []),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(result, args.out.with_suffix(".png"))
    for run_name, run in runs.items():
        views = {**run["configs"], **{f"{n} (long query)": c for n, c in run["long_query"].items()}}
        print(run_name, json.dumps({n: {lv: c.get(lv) for lv in LEVELS} | {"p50_ms": c["latency_ms"]["p50"]}
                                    for n, c in views.items()}, indent=1))
        print(f"ingest: {run['ingest']}")
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
