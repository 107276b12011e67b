"""BM25 at scale: what tantivy's options do to one query's time on a shard of N documents.

    python -m benchmarks.bm25_options --docs 1000000 --out benchmarks/out/bm25-1m.json --plot docs/bm25-options.png

One shard's index (storage/lexical_index.py, the server's own writer and schema) holds the
synthetic corpus's texts (benchmarks/corpus.py) in two cubes: `big` (nine documents in ten) and
`small` (every tenth). It is built twice and cached: as the pipeline builds it (a commit every
`BATCH` rows, tantivy merging segments in the background) and as a rebuild does (one commit). Each
variant runs the same distinct queries; its p50/p95 and whether its top hits equal the server's
path's are reported. Searcher threads are not an option here: tantivy-py 0.27's `Searcher.search`
runs on the calling thread and exposes no executor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tantivy

from benchmarks import corpus
from benchmarks.machine import describe
from pipeline.records import IndexRow
from storage.lexical_index import LexicalReader, LexicalWriter, query_terms

BATCH = 5_000  # rows a pipeline batch commits at a time (the live path's order of magnitude)
QUERIES = 200
LIMIT = 60  # the server's search_candidates
CONTENT_BOOST = 0.45
# Measured, not the server's: how much of a query's time its most frequent words take (their
# posting lists span most of the index). Leaving them out changes the ranking, which only the
# recall harnesses can judge.
FUNCTION_WORDS = frozenset("a an the of with about to in on at is was did does do what who when where for and or".split())


def log(msg: str) -> None:
    print(f"[bm25] {msg}", file=sys.stderr, flush=True)


def rows(n: int) -> list[IndexRow]:
    texts, kinds = corpus._texts(n)
    out = []
    for i, (text, kind) in enumerate(zip(texts, kinds)):
        # A turn's context is itself with its neighbours, as the writer stores it (pipeline/context.py).
        context = " ".join(texts[max(0, i - 1): i + 2])
        out.append(IndexRow(f"m{i:07d}", "small" if i % 10 == 0 else "big", "trace", kind, text, [],
                            1_700_000_000_000 + i, "active", context=context))
    return out


def built(n: int, how: str) -> Path:
    """The cached index of n documents, committed in batches (`pipeline`) or at once (`rebuild`)."""
    path = corpus.CACHE / f"bm25-{n}-{how}"
    if (path / "BUILT").exists():
        return path
    all_rows = rows(n)
    writer = LexicalWriter(path)
    start = time.perf_counter()
    if how == "rebuild":
        writer.rebuild(all_rows)
    else:
        for at in range(0, n, BATCH):
            writer.apply(all_rows[at: at + BATCH], [])
            if at // BATCH % 20 == 0:
                log(f"{how}: {at + BATCH:,} of {n:,} documents ({time.perf_counter() - start:.0f} s)")
    writer.close()
    (path / "BUILT").write_text(f"{time.perf_counter() - start:.1f} s\n")
    return path


def timed(run: Callable[[str], list], queries: list[str]) -> tuple[dict, list[list]]:
    run(queries[0])  # warm the searcher
    times, hits = [], []
    for q in queries:
        t = time.perf_counter()
        hits.append(run(q))
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(float(np.percentile(times, 50)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}, hits


Variant = tuple[str, str, bool, Callable[[str], list]]  # group, name, scored as the server scores, run


def variants(reader: LexicalReader) -> list[Variant]:
    """Per group, the server's own path first; the rest are compared with it."""
    index, schema = reader._index, reader._index.schema
    two_fields = {"content": CONTENT_BOOST, "context": 1.0}

    def raw(text: str, cube: str | None, count: bool, boosts: dict | None, term_set: bool = True,
            function_words: bool = True) -> list:
        words = query_terms(text)
        if not function_words:
            words = " ".join(w for w in words.split() if w not in FUNCTION_WORDS) or words
        query, _ = index.parse_query_lenient(words, list(boosts or ["content"]), field_boosts=boosts or {})
        must = [(tantivy.Occur.Must, query)]
        if cube is not None:
            cube_query = (tantivy.Query.term_set_query(schema, "cube", [cube]) if term_set
                          else tantivy.Query.term_query(schema, "cube", cube))
            must.append((tantivy.Occur.Must, cube_query))
        searcher = index.searcher()
        found = searcher.search(tantivy.Query.boolean_query(must), LIMIT, count=count).hits
        return [searcher.doc(address)["id"][0] for _, address in found]

    def server(cubes: list[str]) -> Callable[[str], list]:
        return lambda q: [i for _, i, _ in reader.search(q, cubes, LIMIT, None, CONTENT_BOOST)]

    return [
        ("whole", "server: both cubes (no filter), two fields", True, server(["big", "small"])),
        ("whole", "two fields, count on", True, lambda q: raw(q, None, True, two_fields)),
        ("whole", "two fields, count off", True, lambda q: raw(q, None, False, two_fields)),
        ("whole", "two fields, function words left out", False,
         lambda q: raw(q, None, True, two_fields, function_words=False)),
        ("whole", "content only, count on", False, lambda q: raw(q, None, True, None)),
        ("whole", "content only, count off", False, lambda q: raw(q, None, False, None)),
        ("small", "server: small cube (term-set filter)", True, server(["small"])),
        ("small", "term-set filter, count on", True, lambda q: raw(q, "small", True, two_fields)),
        ("small", "term-set filter, count off", True, lambda q: raw(q, "small", False, two_fields)),
        ("small", "term filter, count off", True, lambda q: raw(q, "small", False, two_fields, term_set=False)),
    ]


def measure(n: int) -> dict:
    queries = corpus.queries(QUERIES, seed=11)
    out: dict = {}
    for how in ("pipeline", "rebuild"):
        path = built(n, how)
        reader = LexicalReader(path)
        searcher = reader._index.searcher()
        figures: dict = {"segments": searcher.num_segments, "docs": searcher.num_docs,
                         "build": (path / "BUILT").read_text().strip(), "variants": {}}
        server_hits: dict[str, list[list]] = {}
        for group, name, same_scoring, run in variants(reader):
            stats, hits = timed(run, queries)
            server_hits.setdefault(group, hits)
            if same_scoring:
                stats["same_hits_as_server"] = round(sum(h == r for h, r in zip(hits, server_hits[group])) / len(hits), 3)
            figures["variants"][name] = stats
            log(f"{how} ({figures['segments']} segments) {name}: p50 {stats['p50_ms']:.2f} ms, p95 {stats['p95_ms']:.2f}")
        out[how] = figures
    return out


def draw(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    indexes = result["indexes"]
    names = list(next(iter(indexes.values()))["variants"])
    fig, ax = plt.subplots(figsize=(10, 5))
    height = 0.8 / len(indexes)
    for j, (how, figures) in enumerate(indexes.items()):
        ys = [i + j * height for i in range(len(names))]
        ax.barh(ys, [figures["variants"][n]["p50_ms"] for n in names], height,
                label=f"{how} ({figures['segments']} segments)")
    ax.set_yticks([i + height / 2 for i in range(len(names))], names)
    ax.invert_yaxis()
    ax.set_xlabel("BM25 query p50 (ms)")
    ax.set_title(f"BM25 on one shard of {result['docs']:,} documents — {result['machine']['cpu']}, "
                 f"{result['machine']['cores']} cores")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bm25-options.json"))
    ap.add_argument("--plot", type=Path, default=None, help="a bar chart of each variant's p50")
    args = ap.parse_args(argv)
    result = {"benchmark": "bm25_options", "docs": args.docs, "queries": QUERIES, "limit": LIMIT,
              "machine": describe(), "command": "python -m benchmarks.bm25_options " + " ".join(argv or sys.argv[1:]),
              "indexes": measure(args.docs)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    if args.plot is not None:
        draw(result, args.plot)
    for how, figures in result["indexes"].items():
        print(f"{how}: {figures['segments']} segments, built in {figures['build']}")
        for name, stats in figures["variants"].items():
            print(f"  {name:48s} p50 {stats['p50_ms']:7.2f} ms  p95 {stats['p95_ms']:7.2f} ms"
                  + (f"  same hits {stats['same_hits_as_server']:.0%}" if "same_hits_as_server" in stats else ""))
    return result


if __name__ == "__main__":
    main()
