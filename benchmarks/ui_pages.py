"""Server-side render time of every /ui page with a cube of 10k memories (the target is 50 ms a page).

    python -m benchmarks.ui_pages --out benchmarks/out/ui_pages.json

The cube is the search benchmark's (benchmarks/search_scale.py: the synthetic corpus, imported once
and cached). The server runs without keys, so the UI is told whose view to show the way a person
does it, through the agent form. Each page is fetched `--requests` times after a warm-up, one at a
time over one keep-alive connection; the figure is the client's time for the whole answer over
loopback, so it includes HTTP and transfer, and is what a browser waits for before it can draw.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np

from api.server_process import start_server
from benchmarks import corpus, search_scale
from benchmarks.machine import describe

SIZE = 10_000
AGENT = search_scale.AGENT
PAGES = ("/ui", "/ui/memories", "/ui/episodes", "/ui/world", "/ui/skills", "/ui/cubes", "/ui/graph", "/ui/import",
         "/ui/settings")
TARGET_MS = 50.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def view_as(client: httpx.Client, agent: str) -> None:
    """Choose whose memories the UI shows (auth is off), with the page's own CSRF token."""
    page = client.get("/ui")
    page.raise_for_status()
    token = CSRF.search(page.text)
    if token is None:
        raise RuntimeError("the /ui page carries no csrf_token field")
    chosen = client.post("/ui/agent", data={"agent": agent, "back": "/ui", "csrf_token": token.group(1)})
    if chosen.status_code >= 400 or agent not in client.get("/ui").text:
        raise RuntimeError(f"could not view the UI as {agent}: {chosen.status_code} {chosen.text[:300]}")


def pages_with_ids(client: httpx.Client, n: int) -> dict[str, list[str]]:
    """Page name -> the URLs to fetch: the fixed pages, one memory's detail and graph, and a search, which
    gets a distinct query each time (a repeated one would be answered from the query cache)."""
    listed = client.get("/v1/memories", params={"limit": 1}, headers={"X-Agent-Id": AGENT})
    listed.raise_for_status()
    pages = {path: [path] * n for path in PAGES}
    memory = listed.json()["items"][0]["id"]
    pages["/ui/memories/{id}"] = [f"/ui/memories/{memory}"] * n
    pages["/ui/graph?memory={id}"] = [f"/ui/graph?memory={memory}"] * n
    pages["/ui/memories?q={query}"] = [f"/ui/memories?{urlencode({'q': q})}" for q in corpus.queries(n, seed=11)]
    return pages


def measure_page(client: httpx.Client, urls: list[str], warmup: int) -> dict[str, object]:
    for url in urls[:warmup]:
        client.get(url)
    times, sizes, statuses = [], [], set()
    for url in urls[warmup:]:
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        sizes.append(len(r.content))
        statuses.add(r.status_code)
    pct = lambda p: round(float(np.percentile(times, p)), 2)  # noqa: E731
    return {"p50_ms": pct(50), "p95_ms": pct(95), "max_ms": round(max(times), 2), "requests": len(times),
            "bytes": int(np.median(sizes)), "status": sorted(statuses), "within_target": pct(95) <= TARGET_MS}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=50, help="timed requests per page")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    data = search_scale.populated(SIZE)
    server = start_server(data)
    try:
        with httpx.Client(base_url=server.url, timeout=120, follow_redirects=True) as client:
            deadline = time.monotonic() + 600  # the cube's vectors load in the background; search needs them
            client.post("/v1/search", json={"query": "warm up", "top_k": 10}, headers={"X-Agent-Id": AGENT})
            while client.get("/v1/health").json().get("warming") and time.monotonic() < deadline:
                time.sleep(0.5)
            view_as(client, AGENT)
            urls = pages_with_ids(client, args.warmup + args.requests)
            pages = {name: measure_page(client, page_urls, args.warmup) for name, page_urls in urls.items()}
    finally:
        server.stop()
    # Other work on the machine moves these figures; the load average says how much there was.
    result = {"benchmark": "ui_pages", "machine": describe(), "load_average": [round(x, 2) for x in os.getloadavg()],
              "memories": SIZE, "target_ms": TARGET_MS, "pages": pages}
    for path, m in pages.items():
        flag = "" if m["status"] == [200] else f"  status {m['status']}"
        print(f"{path:<28} p50 {m['p50_ms']:7.2f} ms  p95 {m['p95_ms']:7.2f} ms  {m['bytes']:>7,} B{flag}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
