"""Replication rate of a knowledge-base cube from a hub to a member, on loopback.

    python -m benchmarks.team_replication --out benchmarks/out/team_replication.json [--n 10000]

A hub and a member (two real servers, separate data dirs and ports) are started; N notes with
unit vectors from the server's model are imported into a hub cube (`POST /v1/import`, vectors
reused), shared with a team the member joins; then the member replicates the cube
(`POST /v1/team/replicas`, pages of `team_page_size`), and after that one memory in every hundred
is edited on the hub and the member syncs again (the change feed). Rates are memories per second,
wall clock of the request. Counts and one search's results are compared between hub and member.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from api.server_process import start_server
from benchmarks.machine import describe
from pipeline.interchange.jsonl import write_jsonl
from pipeline.interchange.model import iso

MODEL, DIM = "all-MiniLM-L6-v2", 384
FAST = {"world_model": "false", "team_sync_interval_s": "0", "prefetch": "false"}


def bundle(cube: dict, n: int) -> bytes:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    def objects():
        for i in range(n):
            t = iso(1_700_000_000_000 + i)
            yield {"object": "memory", "id": f"note-{i:07d}", "cube": cube["id"], "agent": "default", "tier": "trace",
                   "kind": "note", "content": f"runbook {i}: restart service {i % 97} after alert {i % 13}",
                   "tags": [f"t{i % 7}"], "metadata": {}, "temporal": {"created_at": t, "updated_at": t}}
            yield {"object": "vector", "memory_id": f"note-{i:07d}", "model": MODEL, "dimensions": DIM,
                   "vector": vectors[i].tolist()}

    header = {"object": "header", "format": "memos-interchange", "version": "1.0", "created_at": iso(1_700_000_000_000),
              "producer": {"name": "memos", "version": "bench"},
              "cubes": [{"id": cube["id"], "kind": "kb", "name": cube["name"], "description": "", "owner": "default"}]}
    return b"".join(write_jsonl(header, objects(), lambda: {"embedding": {"model": MODEL, "dimensions": DIM}}))


def ok(r: httpx.Response) -> dict:
    assert r.status_code < 300, r.text
    return r.json()


def run(n: int, page: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="memos-team-bench-"))
    hub = start_server(root / "hub" / "data", hub="true", hub_announce="false", team_page_size=str(page), **FAST)
    member = start_server(root / "member" / "data", **FAST)
    try:
        with hub.client(timeout=600) as h, member.client(timeout=600) as m:
            token = ok(h.post("/v1/hub/teams", json={"team": "bench"}))["join_token"]
            who = ok(m.post("/v1/team/join", json={"url": hub.url, "token": token}))["member"]
            ok(h.post(f"/v1/hub/members/{who}/approve", json={}))
            cube = ok(h.post("/v1/cubes", json={"name": "bench"}))
            started = time.monotonic()
            job = ok(h.post("/v1/import", params={"cube": cube["id"]}, files={"file": ("b.memos.jsonl", bundle(cube, n))}))
            while ok(h.get(f"/v1/import/{job['job_id']}"))["status"] == "running":
                time.sleep(0.2)
            import_s = time.monotonic() - started
            ok(h.post("/v1/hub/teams/bench/cubes", json={"cube": cube["id"]}))
            started = time.monotonic()
            replica = ok(m.post("/v1/team/replicas", json={"team": "bench", "cube": cube["id"]}))
            full_s = time.monotonic() - started
            assert replica["state"] == "current" and replica["rows"] == n, replica
            edits = list(range(0, n, 100))
            for i in edits:
                ok(h.patch(f"/v1/memories/note-{i:07d}", params={"cube": cube["id"]}, json={"content": f"edited {i}"}))
            time.sleep(2)
            started = time.monotonic()
            (after,) = ok(m.post("/v1/team/sync", json={}))["replicas"]
            feed_s = time.monotonic() - started
            q = {"query": "restart service 42 after alert", "cubes": [cube["id"]], "top_k": 10}
            same = [x["id"] for x in ok(h.post("/v1/search", json=q))["results"]] == \
                [x["id"] for x in ok(m.post("/v1/search", json=q))["results"]]
        return {"n": n, "page": page, "hub_import_s": round(import_s, 2), "replicate_s": round(full_s, 2),
                "replicate_per_s": round(n / full_s, 1), "feed_changes": len(edits), "feed_sync_s": round(feed_s, 2),
                "rows_after": after["rows"], "lag_after": after["lag"], "same_search_results": same,
                "machine": describe()}
    finally:
        member.stop()
        hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/team_replication.json"))
    args = parser.parse_args()
    figures = run(args.n, args.page)
    print(json.dumps(figures, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
