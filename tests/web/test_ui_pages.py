"""Every page in a real browser, on a cube with every tier: each passes the page checks (no console
error, no request to another host, no serious axe violation), has one h1 and the navigation's names,
and never shows another agent's memory; episodes show their tool calls in order, skills their success
rate, the graph the nodes around a memory; a world fact is corrected from its page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import WebServer, check_page
from tests.web.signed_in import marker, signed_in, write

NAV = ("Overview", "Memories", "Episodes", "World", "Skills", "Cubes", "Graph", "Import", "Settings")
TOOLS = ("build_image", "run_tests", "push_image", "rollout")


@dataclass(frozen=True)
class Seeded:
    root: dict  # a memory with links
    linked: list[dict]
    episode: str
    skill: str
    fact: dict
    secret: str  # a word of bob's memory (alice's queries name it, so pages may echo it)
    hidden: str  # the rest of bob's memory: never on any page alice sees


def deploy(api, service: str, tag: str) -> str:
    episode = api.post("/v1/episodes", json={"task": f"Deploy the {service} service with tag {tag}"}).json()["id"]
    calls = [{"name": "build_image", "arguments": {"service": service, "tag": tag}, "result": "built", "status": "ok",
              "duration_ms": 1200},
             {"name": "run_tests", "arguments": {"service": service}, "result": "42 passed", "status": "ok"},
             {"name": "push_image", "arguments": {"image": f"registry.local/{service}:{tag}"}, "status": "ok"},
             {"name": "rollout", "arguments": {"service": service, "tag": tag}, "result": "rolled out", "status": "ok"}]
    batch = [{"tool": call, "episode": episode, "id": f"{episode}-{i}"} for i, call in enumerate(calls)]
    assert api.post("/v1/memories/batch", params={"wait": "true"}, json={"items": batch}).status_code == 200
    assert api.patch(f"/v1/episodes/{episode}", json={"outcome": "success"}).status_code == 200
    return episode


@pytest.fixture(scope="module")
def seeded(web_server: WebServer) -> Seeded:
    secret = marker("bobsecret")
    hidden = marker("the vault code is ")
    write(web_server, "bob", f"{secret} {hidden}", tags=[secret])
    root = write(web_server, "alice", marker("Release checklist "))
    linked = [write(web_server, "alice", marker(f"Checklist step {i} ")) for i in range(2)]
    with web_server.api("alice") as api:
        for other in linked:
            made = api.post("/v1/links", json={"src": root["id"], "dst": other["id"], "type": "related"})
            assert made.status_code == 201, made.text
        episodes = [deploy(api, service, tag) for service, tag in
                    (("api", "v1.2"), ("web", "v3.0"), ("billing", "v0.9"), ("search", "v2.1"), ("auth", "v5.5"))]
        (skill,) = [s for s in api.get("/v1/skills").json() if s["name"].lower().startswith("deploy")]
    fact_source = write(web_server, "alice", "I live in Lisbon", metadata={"speaker": "Alice"})
    with web_server.api("alice") as api:
        facts = api.get("/v1/memories", params={"tier": "world"}).json()["items"]
    (fact,) = [f for f in facts if fact_source["id"] in f["source_ids"]]
    return Seeded(root, linked, episodes[0], skill["id"], fact, secret, hidden)


def pages(s: Seeded, cube: str) -> list[str]:
    return ["/ui", "/ui/memories", "/ui/episodes", "/ui/world", "/ui/skills", "/ui/cubes", "/ui/graph", "/ui/import",
            "/ui/settings", f"/ui/memories/{s.root['id']}", f"/ui/episodes/{s.episode}", f"/ui/skills/{s.skill}",
            f"/ui/cubes/{cube}", f"/ui/graph?memory={s.root['id']}&depth=2", f"/ui/memories?q={s.secret}",
            f"/ui/memories?tag={s.secret}", f"/ui/search?q={s.secret}+vault+code", f"/ui/memories?q=vault+code"]


def test_every_page_passes_the_checks_and_never_shows_another_agents_memory(
        web_server: WebServer, seeded: Seeded, open_page: Callable[[str], Page]):
    page = signed_in(open_page, web_server, "alice")
    for path in pages(seeded, "agent-alice"):
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        for name in NAV:
            expect(page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)).to_have_count(1)
        check_page(page)
        assert seeded.hidden not in page.content(), path


def test_another_agents_memory_by_its_address_is_not_found(web_server: WebServer, seeded: Seeded,
                                                           open_page: Callable[[str], Page]):
    with web_server.api("bob") as api:
        (secret,) = api.get("/v1/memories", params={"tag": seeded.secret}).json()["items"]
    page = signed_in(open_page, web_server, "alice")
    for path in (f"/ui/memories/{secret['id']}", f"/ui/memories/{secret['id']}?cube=agent-bob",
                 f"/ui/memories?cube=agent-bob", f"/ui/graph?memory={secret['id']}&cube=agent-bob",
                 "/ui/cubes/agent-bob", f"/ui/export?cube=agent-bob"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        assert seeded.hidden not in page.content() and seeded.secret not in page.content(), path
        check_page(page, expected_errors=["404"])


def test_an_episode_shows_its_tool_calls_in_order(web_server: WebServer, seeded: Seeded,
                                                  open_page: Callable[[str], Page]):
    page = signed_in(open_page, web_server, "alice")
    page.get_by_role("link", name="Episodes", exact=True).click()
    page.get_by_role("link", name="Deploy the api service with tag v1.2").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Episode: Deploy the api service with tag v1.2")
    steps = page.locator("table.steps tbody tr")
    expect(steps).to_have_count(4)
    assert [steps.nth(i).locator(".tool-name").inner_text() for i in range(4)] == list(TOOLS)
    expect(steps.nth(0)).to_contain_text('"tag": "v1.2"')  # its arguments
    expect(steps.nth(0)).to_contain_text("built")  # its result
    expect(steps.nth(0)).to_contain_text("1200 ms")  # its duration
    expect(page.get_by_role("region", name="Summary")).to_contain_text("Deploy the api service with tag v1.2")
    expect(page.get_by_role("region", name="Skill it fed")).to_contain_text("version")
    check_page(page)


def test_a_skill_shows_its_success_rate_renders_with_parameters_and_gives_its_tool_json(
        web_server: WebServer, seeded: Seeded, open_page: Callable[[str], Page]):
    page = signed_in(open_page, web_server, "alice")
    page.get_by_role("link", name="Skills", exact=True).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Deploy"))
    expect(row).to_contain_text("100 %")
    row.get_by_role("link").click()
    expect(page.locator("#skill-success-rate")).to_have_text("100 %")
    page.get_by_label("service").fill("cart")
    page.get_by_label("tag").fill("v9.9")
    page.get_by_role("button", name="Render").click()
    expect(page.locator(".rendered")).to_contain_text("registry.local/cart:v9.9")
    expect(page.locator("#tool-openai")).to_contain_text('"type": "function"')
    expect(page.locator("#tool-mcp")).to_contain_text('"inputSchema"')
    check_page(page)


def test_the_graph_shows_the_nodes_around_a_memory_and_a_click_opens_one(
        web_server: WebServer, seeded: Seeded, open_page: Callable[[str], Page]):
    page = signed_in(open_page, web_server, "alice")
    page.set_viewport_size({"width": 1280, "height": 1400})  # the whole graph on screen: nothing to scroll
    page.goto(f"/ui/memories/{seeded.root['id']}")
    page.get_by_role("link", name="Show in the graph").click()
    page.wait_for_function("() => window.memosGraph && window.memosGraph.nodes().length > 0")
    ids = set(page.evaluate("() => window.memosGraph.nodes().map(n => n.id())"))
    assert ids == {seeded.root["id"], *(m["id"] for m in seeded.linked)}
    assert page.evaluate("() => window.memosGraph.edges().length") == 2
    check_page(page)
    target = seeded.linked[0]["id"]
    point = page.evaluate("""(id) => { const n = window.memosGraph.getElementById(id).renderedPosition();
                                       const box = document.getElementById('graph').getBoundingClientRect();
                                       return {x: box.left + n.x, y: box.top + n.y}; }""", target)
    page.mouse.click(point["x"], point["y"])
    expect(page).to_have_url(f"{web_server.url}/ui/memories/{target}?cube=agent-alice")


def test_a_world_fact_marked_wrong_with_a_correction_is_replaced(web_server: WebServer, seeded: Seeded,
                                                                 open_page: Callable[[str], Page]):
    page = signed_in(open_page, web_server, "alice")
    page.get_by_role("link", name="World", exact=True).click()
    subject = page.get_by_role("region", name="Alice")
    expect(subject).to_contain_text("Alice lives in Lisbon.")
    subject.get_by_label("Correction for Alice lives in Lisbon.").fill("Porto")  # the right value
    subject.get_by_role("button", name="Mark wrong").click()
    expect(page.get_by_role("status").first).to_contain_text("Marked the fact wrong, corrected")
    with web_server.api("alice") as api:
        old = api.get(f"/v1/memories/{seeded.fact['id']}").json()
        history = api.get(f"/v1/memories/{seeded.fact['id']}/history").json()
    assert old["status"] == "superseded" and len(history["superseded_by"]) == 1
    row = page.get_by_role("row").filter(has_text="Alice lives in Lisbon.")
    expect(row).to_contain_text("superseded")
    expect(row).to_contain_text(f"replaced by {history['superseded_by'][0]}")
    expect(page.get_by_role("region", name="Alice")).to_contain_text("Alice lives in Porto.")
    check_page(page)
