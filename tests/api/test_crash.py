"""An acknowledged write is never lost and never doubled, even when the server is killed mid-burst."""

from __future__ import annotations

import threading
import time

import httpx

from api.server_process import start_server


def burst(url: str, agent: str, worker: int, acked: list[tuple[str, str]], stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers={"X-Agent-Id": agent}, timeout=10) as c:
        i = 0
        while not stop.is_set():
            content = f"crash test write w{worker}-{i}: the {i % 13}th lantern glows"
            try:
                r = c.post("/v1/memories", json={"content": content})
            except httpx.HTTPError:
                return  # the server is gone; this write was never acknowledged
            if r.status_code == 202:
                acked.append((r.json()["id"], content))
            i += 1


def test_acked_writes_survive_kill_9_exactly_once(tmp_path):
    data = tmp_path / "data"
    server = start_server(data)
    acked: list[tuple[str, str]] = []
    stop = threading.Event()
    workers = [threading.Thread(target=burst, args=(server.url, "crash", w, acked, stop)) for w in range(8)]
    try:
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while len(acked) < 400 and time.monotonic() < deadline:
            time.sleep(0.05)
        with server.client() as c:
            pending_at_kill = c.get("/v1/health").json()["pending"]
        server.kill9()  # mid-burst: requests in flight, batches mid-pipeline
    finally:
        stop.set()
        for w in workers:
            w.join(15)
        server.kill9()
    assert len(acked) >= 400, server.log()

    restarted = start_server(data)  # a fresh port: the old one may be taken by now
    try:
        with restarted.client("crash") as c:
            deadline = time.monotonic() + 240
            while c.get("/v1/health").json()["pending"] > 0:
                assert time.monotonic() < deadline, "replay did not finish"
                time.sleep(0.5)
            stored: list[dict] = []
            cursor = None
            while True:
                params = {"status": "all", "limit": 1000, **({"cursor": cursor} if cursor else {})}
                page = c.get("/v1/memories", params=params).json()
                stored += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            by_id = {m["id"]: m for m in stored}
            contents = [m["content"] for m in stored]
            missing = [i for i, _ in acked if i not in by_id]
            assert missing == [], f"{len(missing)} acknowledged writes lost (pending at kill: {pending_at_kill})"
            assert len(contents) == len(set(contents)), "a write was stored twice"
            assert all(by_id[i]["content"] == content for i, content in acked)
            # Replayed writes are searchable too, not only stored.
            for memory_id, content in acked[-3:]:
                hits = c.post("/v1/search", json={"query": content, "top_k": 3}).json()["results"]
                assert memory_id in [h["id"] for h in hits]
    finally:
        restarted.stop()
