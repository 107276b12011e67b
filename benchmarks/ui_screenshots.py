"""Screenshots of every page of the web UI, for docs/ui.md and the README.

    python -m benchmarks.ui_screenshots --out docs/ui

Starts a real server with an API key on a fresh data directory, writes a small world over the JSON
API (notes, a conversation whose facts supersede each other, linked memories, five deploy
episodes that crystallize a skill, a shared knowledge-base cube), signs in through the sign-in form
in Debian's chromium (/usr/bin/chromium, headless; nothing is downloaded) as alice (Settings: as the
operator `ops`) and saves one PNG per page, 1280 × 900. It also writes `pages.json` in the same
folder: each page's path, title and size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from api.server_process import start_server
from storage.api_keys import ApiKeys
from storage.paths import DataPaths

CHROMIUM = "/usr/bin/chromium"
AGENT = "alice"
VIEWPORT = {"width": 1280, "height": 900}


def seed(api: httpx.Client, peer: httpx.Client) -> dict[str, str]:
    """A small world of every tier; the ids the pages need."""
    def write(content: str, **fields) -> str:
        made = api.post("/v1/memories", params={"wait": "true"}, json={"content": content, **fields})
        made.raise_for_status()
        return made.json()["id"]

    checklist = write("# Release checklist\n\n1. Freeze the branch\n2. Run the **full** test suite\n3. Tag and deploy",
                      tags=["release", "runbook"])
    steps = [write(text, tags=["release"]) for text in (
        "Freeze the release branch at 12:00 UTC on Tuesdays", "The full suite runs `make test` on two cores (~25 min)",
        "Deploys go out at 17:00 UTC, never on Fridays")]
    for step in steps:
        api.post("/v1/links", json={"src": checklist, "dst": step, "type": "related"}).raise_for_status()
    write("Alice prefers green tea over coffee", kind="message", metadata={"speaker": "Alice"})
    write("I live in Lisbon", kind="message", metadata={"speaker": "Alice"})
    write("I work at Acme Robotics", kind="message", metadata={"speaker": "Alice"})
    write("I moved to Porto last month", kind="message", metadata={"speaker": "Alice"})
    edited = write("The staging database is db-stg-1", tags=["infra"])
    api.patch(f"/v1/memories/{edited}", json={"content": "The staging database is db-stg-2 (moved in March)",
                                              "tags": ["infra", "staging"]}).raise_for_status()
    episode = ""
    for service, tag in (("api", "v1.2"), ("web", "v3.0"), ("billing", "v0.9"), ("search", "v2.1"), ("auth", "v5.5")):
        ep = api.post("/v1/episodes", json={"task": f"Deploy the {service} service with tag {tag}"}).json()["id"]
        episode = episode or ep
        calls = [{"name": "build_image", "arguments": {"service": service, "tag": tag}, "result": "built",
                  "status": "ok", "duration_ms": 41_200},
                 {"name": "run_tests", "arguments": {"service": service}, "result": "212 passed", "status": "ok",
                  "duration_ms": 95_000},
                 {"name": "push_image", "arguments": {"image": f"registry.local/{service}:{tag}"}, "status": "ok",
                  "duration_ms": 3_100},
                 {"name": "rollout", "arguments": {"service": service, "tag": tag}, "result": "rolled out",
                  "status": "ok", "duration_ms": 12_400}]
        api.post("/v1/memories/batch", params={"wait": "true"},
                 json={"items": [{"tool": c, "episode": ep, "id": f"{ep}-{i}"} for i, c in enumerate(calls)]}
                 ).raise_for_status()
        api.patch(f"/v1/episodes/{ep}", json={"outcome": "success"}).raise_for_status()
    skill = api.get("/v1/skills").json()[0]["id"]
    cube = api.post("/v1/cubes", json={"name": "Team runbooks", "description": "What the on-call rota needs"}).json()["id"]
    api.post(f"/v1/cubes/{cube}/members", json={"agent": "bob", "role": "read"}).raise_for_status()
    api.post("/v1/memories", params={"wait": "true"}, json={"content": "Paging rota: weekly, hand over on Mondays",
                                                             "cube": cube}).raise_for_status()
    peer.post("/v1/memories", json={"content": "bob's own note, which alice never sees"}).raise_for_status()
    for query in ("when do deploys go out", "release checklist", "where does alice live"):
        api.post("/v1/search", json={"query": query}).raise_for_status()
    return {"memory": checklist, "edited": edited, "episode": episode, "skill": skill, "cube": cube}


def shots(ids: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("signin", "/ui/signin"),
        ("overview", "/ui"),
        ("memories", "/ui/memories?q=when+do+deploys+go+out&max_tokens=60"),
        ("memory", f"/ui/memories/{ids['edited']}"),
        ("episodes", "/ui/episodes"),
        ("episode", f"/ui/episodes/{ids['episode']}"),
        ("world", "/ui/world"),
        ("skills", "/ui/skills"),
        ("skill", f"/ui/skills/{ids['skill']}?render=true&param.service=cart&param.tag=v9.9"),
        ("cubes", "/ui/cubes"),
        ("cube", f"/ui/cubes/{ids['cube']}"),
        ("graph", f"/ui/graph?memory={ids['memory']}&depth=2"),
        ("import", "/ui/import"),
        ("settings", "/ui/settings"),
    ]


def settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("() => document.fonts.ready")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/ui"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="memos-shots-") as tmp:
        data = Path(tmp) / "data"
        paths = DataPaths(data)
        paths.ensure()
        store = ApiKeys(paths.registry_db)
        key = store.create(AGENT, admin=False)[1]
        peer_key = store.create("bob", admin=False)[1]
        ops_key = store.create("ops", admin=True)[1]
        store.close()
        server = start_server(data, timeout=600)  # a busy machine starts Ray slowly
        try:
            with httpx.Client(base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {key}"}) as api, \
                    httpx.Client(base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {peer_key}"}) as peer:
                ids = seed(api, peer)
            made = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
                page = browser.new_context(base_url=server.url, viewport=VIEWPORT).new_page()
                page.goto("/ui/signin")
                settle(page)
                page.screenshot(path=str(args.out / "signin.png"))
                made.append({"page": "signin", "path": "/ui/signin", "title": page.title()})
                page.get_by_label("API key").fill(key)
                page.get_by_role("button", name="Sign in").click()
                settle(page)
                operator = browser.new_context(base_url=server.url, viewport=VIEWPORT).new_page()
                operator.goto("/ui/signin")
                operator.get_by_label("API key").fill(ops_key)
                operator.get_by_role("button", name="Sign in").click()
                settle(operator)
                for name, path in shots(ids)[1:]:
                    viewer = operator if name == "settings" else page  # the keys are an operator's to manage
                    viewer.goto(path)
                    settle(viewer)
                    if name == "graph":
                        viewer.wait_for_function("() => window.memosGraph && window.memosGraph.nodes().length > 0")
                    viewer.screenshot(path=str(args.out / f"{name}.png"))
                    made.append({"page": name, "path": path, "title": viewer.title()})
                browser.close()
        finally:
            server.stop()
    for shot in made:
        shot["bytes"] = (args.out / f"{shot['page']}.png").stat().st_size
        print(f"{shot['page']:<10} {shot['bytes']:>8,} B  {shot['path']}")
    (args.out / "pages.json").write_text(json.dumps(made, indent=2) + "\n")
    print(f"wrote {len(made)} screenshots to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
