"""Synthetic but realistic agent memories for scale benchmarks, generated once and cached on disk.

Sentences come from templates over people, places, tools, topics and times (what an agent fleet
writes: conversation turns, tool calls, preferences, decisions). Up to `EMBEDDED` of them are
embedded with the real model; larger corpora reuse those vectors with small Gaussian noise
(cosine ≈ 0.9 to their source), because embedding a million texts takes hours on two cores.
Search cost does not depend on which unit vectors are stored; benchmarks say which kind they used.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CACHE = Path(os.environ.get("MEMOS_BENCH_CACHE", Path(__file__).resolve().parent / "cache"))
EMBEDDED = 100_000
DIM = 384
MODEL = "all-MiniLM-L6-v2"  # the server's default embed_model, which made the vectors

PEOPLE = ("Alice Bob Carol Dan Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent "
          "Victor Walter Yara Zoe Priya Kenji Amara Lucas Sofia Mateo Aisha Noah Leila Omar Hana Tomas Ines").split()
PLACES = ("Lisbon Oslo Nairobi Kyoto Austin Denver Porto Seoul Lima Tunis Krakow Dublin Perth Quito Hanoi "
          "Bergen Cusco Accra Malmo Valencia the office the lab the warehouse the cafe the gym").split(" ")
THINGS = ("green tea|espresso|oat milk|sourdough|the window seat|dark mode|vim|emacs|standing desks|morning runs|"
          "jazz|podcasts|paper notebooks|mechanical keyboards|rainy days|spicy food|board games|cold showers").split("|")
TOOLS = ("search_web|read_file|write_file|run_tests|deploy_service|query_db|send_email|create_ticket|"
         "fetch_url|resize_image|translate_text|schedule_meeting|git_commit|build_image|rollback").split("|")
TOPICS = ("the Q3 roadmap|the billing migration|the onboarding flow|flaky integration tests|the data retention policy|"
          "the incident on Tuesday|the new hire plan|the cache eviction bug|the API rate limits|the design review|"
          "the vendor contract|the latency regression|the mobile release|the security audit|the holiday schedule").split("|")
VERBS = ("went hiking near|moved to|gave a talk in|is planning a trip to|had lunch in|ran a workshop in|"
         "bought a flat in|visited family in|started a pottery class in|lost their keys in").split("|")
OUTCOMES = ("succeeded|failed with a timeout|returned 3 rows|returned an empty result|needed a retry|"
            "was rate limited|succeeded after 2 retries|raised PermissionError").split("|")
MONTHS = "January February March April May June July August September October November December".split()


def sentence(rng: np.random.Generator, i: int) -> tuple[str, str]:
    """One memory text and its kind; `i` makes it unique."""
    p, q = rng.choice(PEOPLE, 2, replace=False)
    when = f"on {int(rng.integers(1, 29))} {rng.choice(MONTHS)}"
    match int(rng.integers(0, 5)):
        case 0:
            return f"{p}: I {rng.choice(VERBS)} {rng.choice(PLACES)} {when}, ticket #{i}.", "message"
        case 1:
            return (f"tool {rng.choice(TOOLS)}(id={i}, owner={p.lower()}) {rng.choice(OUTCOMES)} "
                    f"while working on {rng.choice(TOPICS)}", "tool_call")
        case 2:
            return f"{p} prefers {rng.choice(THINGS)} over {rng.choice(THINGS)} (noted {when}, #{i})", "persona"
        case 3:
            return (f"Meeting with {p} and {q} about {rng.choice(TOPICS)} {when}: decided to "
                    f"{rng.choice(['ship', 'postpone', 'split', 'drop', 'prototype'])} it (#{i})", "note")
        case _:
            return f"{q}: {p} said {rng.choice(TOPICS)} is blocked until {when} (item {i})", "message"


def queries(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    forms = [
        lambda: f"what does {rng.choice(PEOPLE)} prefer",
        lambda: f"who went to {rng.choice(PLACES)}",
        lambda: f"status of {rng.choice(TOPICS)}",
        lambda: f"did {rng.choice(TOOLS)} fail",
        lambda: f"meeting with {rng.choice(PEOPLE)} about {rng.choice(TOPICS)}",
    ]
    return [forms[int(rng.integers(0, len(forms)))]() for _ in range(n)]


def _texts(n: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(42)
    pairs = [sentence(rng, i) for i in range(n)]
    return [t for t, _ in pairs], [k for _, k in pairs]


def _embedded(n: int) -> np.ndarray:
    """Real embeddings of the first n texts, computed once and cached (progress on stderr)."""
    path = CACHE / f"embeddings-{n}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    from rich.progress import Progress

    from pipeline.encoder import SentenceEncoder

    texts, _ = _texts(n)
    encoder = SentenceEncoder(MODEL, threads=os.cpu_count() or 1, batch_size=64)
    out = np.zeros((n, DIM), dtype=np.float32)
    with Progress(transient=True) as bar:
        task = bar.add_task(f"embedding {n:,} texts (once; cached)", total=n)
        for i in range(0, n, 1024):
            out[i : i + 1024] = encoder.encode(texts[i : i + 1024])
            bar.update(task, completed=min(n, i + 1024))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def vectors(n: int) -> np.ndarray:
    base = _embedded(min(n, EMBEDDED))
    if n <= len(base):
        return np.asarray(base[:n])
    rng = np.random.default_rng(3)
    out = np.empty((n, DIM), dtype=np.float32)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        src = np.asarray(base[rng.integers(0, len(base), m)])
        noisy = src + rng.normal(scale=0.025, size=src.shape).astype(np.float32)
        out[i : i + m] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out


def parquet(n: int) -> Path:
    """The corpus as an import file (id, content, kind, created_at, vector, embedding_model), built once."""
    path = CACHE / f"corpus-{n}.parquet"
    if path.exists():
        return path
    texts, kinds = _texts(n)
    vecs = vectors(n)
    CACHE.mkdir(parents=True, exist_ok=True)
    writer = None
    start = 1_700_000_000_000
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        chunk = pa.table({
            "id": [f"syn-{j}" for j in range(i, i + m)],
            "content": texts[i : i + m],
            "kind": kinds[i : i + m],
            "created_at": pa.array([start + j * 1000 for j in range(i, i + m)], pa.int64()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(vecs[i : i + m]).ravel()), DIM),
            "embedding_model": pa.array([MODEL] * m),  # so the import keeps the vectors (docs/interchange.md)
        })
        if writer is None:
            writer = pq.ParquetWriter(path.with_suffix(".tmp"), chunk.schema)
        writer.write_table(chunk)
    writer.close()
    path.with_suffix(".tmp").rename(path)
    print(f"corpus of {n:,} written to {path}", file=sys.stderr)
    return path
