"""What one purge round costs the write actor, by shard size (privacy-grade deletion, docs/security.md).

    python -m benchmarks.purge --out benchmarks/out/purge.json [--sizes 1000,10000]

In this process, no Ray: a shard writer over one cube of N notes with random unit vectors (the
embedder is not what is measured), indexed, then one memory deleted and the shard purged:
`ShardWriter.purge` (Lance and tantivy rebuilt from the cube file, the WAL truncated) and
`purge_old_versions`. The pipeline's dispatch is paused for the first part in the server.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from actors.write_actor import ShardWriter
from benchmarks.machine import describe
from pipeline.records import derived_row

CUBE = "agent-bench"
DIM = 384


def note(seq: int, rng: np.random.Generator, op: str = "add") -> dict:
    vector = rng.normal(size=DIM).astype(np.float32)
    text = f"note {seq}: the deploy of service {seq % 97} moved to slot {seq % 13}"
    return derived_row(seq=seq, job_id="bench", op=op, id=f"m{seq}", cube=CUBE, agent="bench", tier="trace",
                       kind="note", content=text, index_text=text, metadata="{}", created_at=1_700_000_000_000 + seq,
                       updated_at=1_700_000_000_000 + seq, content_hash=f"h{seq}", tokens=12,
                       vector=vector / np.linalg.norm(vector))


def one_size(n: int, root: Path) -> dict[str, float | int]:
    rng = np.random.default_rng(n)
    writer = ShardWriter(str(root), "s0", DIM, "bench-model", compact_every=1_000_000, ann_min_rows=50_000)
    store = writer._store(CUBE)
    for start in range(0, n, 2_000):
        store.apply([note(i, rng) for i in range(start, min(n, start + 2_000))], "bench-model")
    writer.rebuild([CUBE])
    store.apply([note(n // 2, rng, op="delete")], "bench-model")
    started = time.perf_counter()
    writer.purge([CUBE], [CUBE])
    rewrite_s = time.perf_counter() - started
    started = time.perf_counter()
    writer.purge_old_versions()
    cleanup_s = time.perf_counter() - started
    writer.close()
    return {"memories": n, "rewrite_s": round(rewrite_s, 3), "old_versions_s": round(cleanup_s, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="memos-purge-bench-") as tmp:
            row = one_size(n, Path(tmp))
        print(f"{row['memories']:>8} memories: rewrite {row['rewrite_s']:.2f} s, "
              f"old versions {row['old_versions_s']:.2f} s")
        rows.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": describe(), "rounds": rows}, indent=2))


if __name__ == "__main__":
    main()
