"""Precision, recall and F1 of world-fact extraction on our labelled set, plus its throughput.

    python -m benchmarks.world_facts --out benchmarks/out/world_facts.json [--throughput-n 2000]

The labelled sets (`tests/data/world_facts_*.jsonl`) and the exact and relaxed matching they are
scored by live with the test that keeps floors on them (`tests/pipeline/world_facts/labelled.py`);
this benchmark reports the same scores. Throughput is sentences per second through
`extract_facts` (parse + rules) on LoCoMo chat turns when ../shared/data holds them, otherwise on
the labelled sentences repeated.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.machine import describe
from pipeline.world_facts.extract import extract_facts, load_fact_extractor
from pipeline.world_facts.fact import TraceText
from tests.pipeline.world_facts.labelled import HELDOUT, Example, evaluate, load_labelled


def throughput_texts(n: int, examples: Sequence[Example]) -> tuple[str, list[TraceText]]:
    try:
        from benchmarks.locomo_data import DEFAULT_PATH, load

        turns, _ = load(DEFAULT_PATH)
        source = "locomo turns"
        pairs = [(t.speaker, t.text) for t in turns]
    except (OSError, ValueError):
        source = "labelled sentences, repeated"
        pairs = [(e.speaker, e.text) for e in examples]
    pairs = (pairs * (n // max(len(pairs), 1) + 1))[:n]
    return source, [TraceText(f"t{i}", text, 0, speaker) for i, (speaker, text) in enumerate(pairs)]


def throughput(nlp: Any, traces: Sequence[TraceText]) -> dict[str, float]:
    extract_facts(nlp, traces[:64])  # warm up
    start = time.perf_counter()
    facts = extract_facts(nlp, traces)
    elapsed = time.perf_counter() - start
    sentences = sum(1 for doc in nlp.pipe(t.text for t in traces[:200]) for _ in doc.sents)
    per_text = sentences / min(len(traces), 200)
    return {
        "texts": len(traces),
        "seconds": round(elapsed, 3),
        "texts_per_s": round(len(traces) / elapsed, 1),
        "sentences_per_s": round(len(traces) * per_text / elapsed, 1),
        "facts": sum(len(f) for f in facts),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--throughput-n", type=int, default=2000)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    nlp = load_fact_extractor()
    load_s = time.perf_counter() - start
    examples = load_labelled()
    quality = {"labelled": evaluate(nlp, examples), "heldout": evaluate(nlp, load_labelled(HELDOUT))}
    source, traces = throughput_texts(args.throughput_n, examples)
    result = {
        "machine": describe(),
        "model_load_s": round(load_s, 2),
        "quality": quality,
        "throughput": {"source": source, **throughput(nlp, traces)},
    }
    for name, q in quality.items():
        print(f"{name}: {q['sentences']} sentences, {q['sentences_without_facts']} without facts "
              f"(false facts on them: {q['false_facts_on_factless_sentences']})")
        for kind in ("exact", "relaxed"):
            s = q[kind]
            print(f"  {kind:8} precision {s['precision']:.3f}  recall {s['recall']:.3f}  f1 {s['f1']:.3f}"
                  f"  ({s['true_positives']} tp / {s['predicted']} predicted / {s['labelled']} labelled)")
    t = result["throughput"]
    print(f"throughput: {t['sentences_per_s']} sentences/s, {t['texts_per_s']} texts/s ({t['source']}); "
          f"model load {result['model_load_s']} s", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=list))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
