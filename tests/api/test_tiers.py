"""The three tiers end to end over HTTP: episodes crystallize into skills, facts supersede facts,
feedback reorders search, and the graph shows the links."""

from __future__ import annotations

import pytest


@pytest.fixture
def agent(server, request):
    with server.client(f"tiers_{request.node.name[:40]}".replace("[", "_").replace("]", "")) as c:
        yield c


def run_deploy(c, n: int, service: str, tag: str, outcome: str = "success", steps: int = 4) -> str:
    ep = c.post("/v1/episodes", json={"task": f"Deploy the {service} service with tag {tag}"})
    assert ep.status_code == 201, ep.text
    episode = ep.json()["id"]
    calls = [
        {"name": "build_image", "arguments": {"service": service, "tag": tag}, "result": "built", "status": "ok"},
        {"name": "run_tests", "arguments": {"service": service}, "result": "42 passed", "status": "ok"},
        {"name": "push_image", "arguments": {"image": f"registry.local/{service}:{tag}"}, "status": "ok"},
        {"name": "rollout", "arguments": {"service": service, "tag": tag}, "result": "rolled out", "status": "ok"},
    ][:steps]
    if outcome == "failure":
        calls[-1] = {**calls[-1], "status": "error", "result": "ImagePullBackOff: registry.local unreachable"}
    batch = [{"tool": call, "episode": episode, "id": f"{episode}-{i}"} for i, call in enumerate(calls)]
    assert c.post("/v1/memories/batch", json={"items": batch}).status_code == 202
    closed = c.patch(f"/v1/episodes/{episode}", json={"outcome": outcome})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["traces"] == [b["id"] for b in batch]
    return episode


def test_five_successful_episodes_crystallize_then_version_then_failure_lowers_rate(agent):
    for i, (service, tag) in enumerate([("api", "v1.2"), ("web", "v3.0"), ("billing", "v0.9"),
                                        ("search", "v2.1"), ("auth", "v5.5")]):
        assert agent.get("/v1/skills").json() == [] or i == 4
        run_deploy(agent, i, service, tag)
    (skill,) = agent.get("/v1/skills").json()
    assert skill["version"] == 1 and skill["success_rate"] == 1.0 and skill["runs"] == 5
    assert [s["tool"] for s in skill["steps"]] == ["build_image", "run_tests", "push_image", "rollout"]
    assert set(skill["parameters"]["properties"]) == {"service", "tag"}

    run_deploy(agent, 5, "mail", "v1.0")
    v2 = agent.get(f"/v1/skills/{skill['id']}").json()
    assert (v2["version"], v2["runs"], v2["success_rate"]) == (2, 6, 1.0)
    assert agent.get(f"/v1/skills/{skill['id']}", params={"version": 1}).json()["runs"] == 5  # old versions stay

    run_deploy(agent, 6, "queue", "v4.4", outcome="failure")
    v3 = agent.get(f"/v1/skills/{skill['id']}").json()
    assert v3["version"] == 3 and v3["runs"] == 7 and v3["success_rate"] == pytest.approx(6 / 7, abs=0.01)

    tool = agent.get(f"/v1/skills/{skill['id']}/tool").json()
    assert tool["openai"]["type"] == "function"
    assert set(tool["openai"]["function"]["parameters"]["properties"]) == {"service", "tag"}
    assert tool["mcp"]["inputSchema"] == tool["openai"]["function"]["parameters"]
    rendered = agent.post(f"/v1/skills/{skill['id']}/render", json={"params": {"service": "cart", "tag": "v9.9"}})
    assert rendered.status_code == 200
    assert {"tool": "push_image", "arguments": {"image": "registry.local/cart:v9.9"}} in rendered.json()["steps"]
    bad = agent.post(f"/v1/skills/{skill['id']}/render", json={"params": {"service": 7}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_params"

    hits = agent.post("/v1/search", json={"query": "how do I deploy a service", "tiers": ["skill"]}).json()["results"]
    assert [h["id"] for h in hits] == [skill["id"]] and hits[0]["tier"] == "skill"


def test_a_closed_episode_gets_a_searchable_summary_linked_to_its_traces(agent):
    episode = run_deploy(agent, 0, "ledger", "v7.1", outcome="failure")
    summary_id = agent.get(f"/v1/episodes/{episode}").json()["summary_id"]
    summary = agent.get(f"/v1/memories/{summary_id}").json()
    assert summary["kind"] == "summary" and summary["episode"] == episode
    assert "Deploy the ledger service with tag v7.1" in summary["content"]
    assert "ImagePullBackOff: registry.local unreachable" in summary["content"]  # errors kept verbatim
    graph = agent.get(f"/v1/memories/{summary_id}/graph", params={"types": "derived_from"}).json()
    assert {e["dst"] for e in graph["edges"]} == {f"{episode}-{i}" for i in range(4)}
    hits = agent.post("/v1/search", json={"query": "ledger deploy failed ImagePullBackOff", "top_k": 3}).json()
    assert summary_id in [h["id"] for h in hits["results"]]


def test_a_contradicting_fact_supersedes_the_old_one_with_history_and_a_link(agent):
    said = lambda text, at: agent.post("/v1/memories?wait=true", json={  # noqa: E731
        "content": text, "kind": "message", "metadata": {"speaker": "Caroline"}, "created_at": at})
    old_trace = said("I live in Boston with my two cats.", "2024-01-10T10:00:00Z").json()
    new_trace = said("I live in Denver now.", "2024-06-01T10:00:00Z").json()
    world = agent.get("/v1/memories", params={"tier": "world", "status": "all"}).json()["items"]
    lives = {m["content"]: m for m in world if m["metadata"]["predicate"] == "lives_in"}
    old, new = lives["Caroline lives in Boston."], lives["Caroline lives in Denver."]
    assert (old["status"], new["status"]) == ("superseded", "active")
    assert old["valid_to"] == new["valid_from"] == "2024-06-01T10:00:00.000Z"
    assert old["source_ids"] == [old_trace["id"]] and new["source_ids"] == [new_trace["id"]]
    history = agent.get(f"/v1/memories/{old['id']}/history").json()
    assert history["superseded_by"] == [new["id"]] and history["versions"][-1]["status"] == "superseded"
    graph = agent.get(f"/v1/memories/{new['id']}/graph").json()
    assert {"src": new["id"], "dst": old["id"], "type": "supersedes"} in [
        {k: e[k] for k in ("src", "dst", "type")} for e in graph["edges"]]
    active = agent.get("/v1/memories", params={"tier": "world"}).json()["items"]
    assert "Caroline lives in Boston." not in [m["content"] for m in active]


def test_facts_come_from_what_people_say_not_from_assistant_turns(agent):
    said = lambda text, role: agent.post("/v1/memories?wait=true", json={  # noqa: E731
        "content": text, "kind": "message", "metadata": {"role": role}})
    said("I live in Oslo and I'm a vegetarian.", "user")
    said("I live in Lima. I'm a large language model. Grief is a journey.", "assistant")
    said("I work at Initech.", "system")
    world = agent.get("/v1/memories", params={"tier": "world"}).json()["items"]
    assert sorted(m["content"] for m in world) == ["user is vegetarian.", "user lives in Oslo."]
    traces = agent.get("/v1/memories", params={"tier": "trace"}).json()["items"]
    assert len(traces) == 3  # skipped turns are stored and searchable, only not read for facts


def test_feedback_reorders_a_later_search(agent):
    a = agent.post("/v1/memories?wait=true", json={"content": "The team standup is at 9:30 in room Alpha"}).json()
    b = agent.post("/v1/memories?wait=true", json={"content": "The team standup moved to 10:00 in room Beta"}).json()
    order = lambda: [h["id"] for h in agent.post("/v1/search", json={"query": "when is the team standup"}).json()["results"]]  # noqa: E731
    first = order()[:2]
    loser, winner = first[0], first[1]
    for _ in range(2):
        assert agent.post("/v1/feedback", json={"memory_id": winner, "signal": "useful"}).status_code == 200
    assert agent.post("/v1/feedback", json={"memory_id": loser, "signal": "not_useful"}).status_code == 200
    assert order()[:2] == [winner, loser]
    hit = agent.post("/v1/search", json={"query": "when is the team standup"}).json()["results"][0]
    assert hit["id"] == winner and hit["scores"]["feedback"] == 2
    assert {a["id"], b["id"]} == {winner, loser}


def test_feedback_answers_with_the_memory_after_it_and_its_own_job(agent):
    m = agent.post("/v1/memories?wait=true", json={"content": "The deploy window is Tuesday at noon"}).json()
    r = agent.post("/v1/feedback", json={"memory_id": m["id"], "signal": "useful", "note": "saved a rollback"})
    assert r.status_code == 200
    body = r.json()
    assert {k: v for k, v in body.items() if k != "memory"} == {
        "memory_id": m["id"], "cube": m["cube"], "signal": "useful", "status": "done", "job_id": body["job_id"],
        "superseded_by": []}
    assert (body["memory"]["id"], body["memory"]["feedback"]) == (m["id"], 1)
    job = agent.get(f"/v1/jobs/{body['job_id']}").json()
    assert (job["kind"], job["status"], job["total"], job["done"], job["failed"]) == ("feedback", "done", 1, 1, 0)


def test_wrong_with_a_correction_supersedes_and_outdated_closes(agent):
    agent.post("/v1/memories?wait=true", json={"content": "I work at Initech.", "kind": "message",
                                               "metadata": {"speaker": "Peter"}})
    (fact,) = [m for m in agent.get("/v1/memories", params={"tier": "world"}).json()["items"]
               if m["metadata"]["predicate"] == "works_at"]
    r = agent.post("/v1/feedback", json={"memory_id": fact["id"], "signal": "wrong",
                                         "correction": "Peter works at Initrode."})
    assert r.status_code == 200 and r.json()["memory"]["status"] == "superseded"
    (fixed_id,) = r.json()["superseded_by"]
    fixed = agent.get(f"/v1/memories/{fixed_id}").json()
    assert fixed["content"] == "Peter works at Initrode." and fixed["metadata"]["rule"] == "correction"
    out = agent.post("/v1/feedback", json={"memory_id": fixed_id, "signal": "outdated"}).json()
    assert out["memory"]["status"] == "superseded" and out["memory"]["valid_to"] is not None


def test_user_links_join_the_graph_and_bad_links_are_refused(agent):
    a = agent.post("/v1/memories?wait=true", json={"content": "Project Orion kickoff notes"}).json()
    b = agent.post("/v1/memories?wait=true", json={"content": "Project Orion budget spreadsheet"}).json()
    assert agent.post("/v1/links", json={"src": a["id"], "dst": b["id"], "type": "related"}).status_code == 201
    graph = agent.get(f"/v1/memories/{b['id']}/graph", params={"types": "related"}).json()
    assert [(e["src"], e["dst"]) for e in graph["edges"]] == [(a["id"], b["id"])]
    assert {n["id"] for n in graph["nodes"]} == {a["id"], b["id"]}
    assert agent.post("/v1/links", json={"src": a["id"], "dst": "nope", "type": "related"}).status_code == 404
    assert agent.post("/v1/links", json={"src": a["id"], "dst": b["id"], "type": "Bad Type!"}).status_code == 422
    assert agent.post("/v1/links", json={"src": "ghost", "dst": b["id"], "type": "related"}).status_code == 404


def test_traces_must_name_an_existing_episode_and_closing_twice_conflicts(agent):
    r = agent.post("/v1/memories", json={"content": "x", "episode": "ep-does-not-exist"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"  # issue 13: was 422
    ep = agent.post("/v1/episodes", json={"task": "tidy the backlog"}).json()["id"]
    assert agent.patch(f"/v1/episodes/{ep}", json={"outcome": "success"}).status_code == 200
    again = agent.patch(f"/v1/episodes/{ep}", json={"outcome": "failure"})
    assert again.status_code == 409
    assert agent.patch(f"/v1/episodes/{ep}", json={"outcome": "maybe"}).status_code == 422
