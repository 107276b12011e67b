"""Team sharing end to end (issue 20): a hub and two members on loopback, driven by the `memos`
commands of docs/team.md: join, approve, reject, publish, pull, a bundle tampered with in transit,
a knowledge-base cube replicated (cut mid-way and resumed), discovery over mDNS, and a revoked
member refused on its next call.

The tests run in order and share the servers (tests/team/conftest.py): each builds on the last.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import httpx
import numpy as np
import pytest

from api.server_process import MEMOS, ServerProcess
from pipeline.interchange.jsonl import write_jsonl
from pipeline.interchange.model import iso
from pipeline.team.signing import b64, sign
from tests.team.conftest import HUB_NAME
from tests.team.proxy import HubProxy

# Three servers start one after another before the first test: far more than one test's default limit.
pytestmark = pytest.mark.timeout(1800)

TEAM = "platform"
KB_MEMORIES = 10_000  # the 10k; benchmarks/team_replication.py times the same path
MODEL = "all-MiniLM-L6-v2"
state: dict[str, Any] = {}


def memos(server: ServerProcess, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run([MEMOS, *args], env=server.env(MEMOS_AGENT="default"), capture_output=True, text=True,
                         timeout=300)
    if ok:
        assert run.returncode == 0, run.stderr
    return run


def memos_json(server: ServerProcess, *args: str) -> dict:
    out = memos(server, *args, "--json").stdout
    return json.loads(out)


def call(server: ServerProcess, method: str, path: str, body: Any = None, status: int = 200, **params: Any) -> Any:
    """The same request a `memos` command sends (its CLI is checked once per command; a CLI start costs seconds)."""
    with server.client("default", timeout=300) as c:
        answer = c.request(method, path, json=body, params={k: v for k, v in params.items() if v is not None})
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def proxy(servers) -> HubProxy:
    p = HubProxy(servers["hub"].url)
    yield p
    p.close()


def run_deploy(c: httpx.Client, service: str, tag: str) -> None:
    episode = c.post("/v1/episodes", json={"task": f"Deploy the {service} service with tag {tag}"}).json()["id"]
    calls = [
        {"name": "build_image", "arguments": {"service": service, "tag": tag}, "result": "built", "status": "ok"},
        {"name": "run_tests", "arguments": {"service": service}, "result": "42 passed", "status": "ok"},
        {"name": "rollout", "arguments": {"service": service, "tag": tag}, "result": "rolled out", "status": "ok"},
    ]
    batch = [{"tool": call, "episode": episode, "id": f"{episode}-{i}"} for i, call in enumerate(calls)]
    assert c.post("/v1/memories/batch", json={"items": batch}).status_code == 202
    assert c.patch(f"/v1/episodes/{episode}", json={"outcome": "success"}).status_code == 200


def test_join_is_pending_until_the_hub_approves_and_a_rejected_member_gets_nothing(servers, proxy):
    hub, alice, bob = servers["hub"], servers["alice"], servers["bob"]
    made = memos_json(hub, "hub", "init", "--team", TEAM)
    assert made["team"] == TEAM and made["join_token"].startswith("mjt.")
    state["token"] = made["join_token"]
    assert call(hub, "POST", "/v1/hub/teams", {"team": TEAM}, status=409)["error"]["code"] == "conflict"
    bad = call(alice, "POST", "/v1/team/join", {"url": hub.url, "token": made["join_token"][:-4] + "AAAA"}, status=409)
    assert bad["error"]["code"] == "hub_refused" and "join token is not valid" in bad["error"]["message"]

    joined = memos_json(alice, "hub", "join", hub.url, "--token", state["token"])
    assert joined["status"] == "pending" and joined["member"].startswith("srv-")
    via_proxy = call(bob, "POST", "/v1/team/join", {"url": proxy.url, "token": state["token"]})  # bob's path to the hub
    assert via_proxy["status"] == "pending"
    state["alice"], state["bob"] = joined["member"], via_proxy["member"]

    members = {m["member"]: m["status"] for m in memos_json(hub, "hub", "members")["members"]}
    assert members == {state["alice"]: "pending", state["bob"]: "pending"}
    pending = call(alice, "POST", "/v1/team/skills/pull", {"team": TEAM}, status=409)
    assert "pending" in pending["error"]["message"]

    assert memos_json(hub, "hub", "approve", state["alice"])["status"] == "approved"
    assert call(hub, "POST", f"/v1/hub/members/{state['bob']}/reject", {})["status"] == "rejected"
    refused = call(bob, "POST", "/v1/team/skills/pull", {"team": TEAM}, status=409)
    assert "rejected" in refused["error"]["message"]
    # asked again, a rejected server is pending again; this time the admin approves
    assert call(bob, "POST", "/v1/team/join", {"url": proxy.url, "token": state["token"]})["status"] == "pending"
    assert call(hub, "POST", f"/v1/hub/members/{state['bob']}/approve", {})["status"] == "approved"
    status = call(alice, "GET", "/v1/team/status")
    assert [(m["team"], m["status"]) for m in status["memberships"]] == [(TEAM, "approved")]


def test_a_published_skill_is_pulled_verified_and_its_new_version_arrives_as_a_new_version(servers, proxy):
    hub, alice, bob = servers["hub"], servers["alice"], servers["bob"]
    with alice.client("default") as a:
        for service, tag in [("api", "v1"), ("web", "v2"), ("billing", "v3"), ("search", "v4"), ("auth", "v5")]:
            run_deploy(a, service, tag)
        (skill,) = a.get("/v1/skills").json()
    state["skill"] = skill["id"]
    published = memos_json(alice, "skills", "publish", skill["id"], "--team", TEAM)
    assert published["skill"] == skill["id"] and published["version"] == 1 and len(published["signature"]) == 86

    with hub.client("default") as h:
        (listed,) = h.get(f"/v1/hub/teams/{TEAM}/skills").json()["skills"]
    assert (listed["skill"], listed["version"], listed["publisher"], listed["signature_status"]) == \
        (skill["id"], 1, state["alice"], "verified")
    assert listed["stats"]["runs"] == 5 and listed["stats"]["members"] == {state["alice"]: {"runs": 5, "successes": 5}}

    assert memos_json(bob, "skills", "pull", "--team", TEAM) == {"pulled": [skill["id"]]}
    assert call(bob, "POST", "/v1/team/skills/pull", {"team": TEAM})["pulled"] == []  # nothing new: nothing imported
    with bob.client("default") as b:
        (mine,) = b.get("/v1/skills").json()
        assert (mine["id"], mine["version"], mine["steps"], mine["runs"]) == \
            (skill["id"], 1, skill["steps"], 5)
        found = b.post("/v1/search", json={"query": "deploy the cart service", "scope": "team"}).json()
        assert found["results"] == [] and [s["skill"] for s in found["team_skills"]] == [skill["id"]]
        both = b.get("/v1/skills", params={"scope": "all"}).json()
        assert sorted(s["scope"] for s in both) == ["local", "team"]

    with alice.client("default") as a:
        run_deploy(a, "mail", "v6")
        assert a.get(f"/v1/skills/{skill['id']}").json()["version"] == 2
    assert call(alice, "POST", "/v1/team/skills/publish", {"skill_id": skill["id"], "team": TEAM})["version"] == 2
    assert call(bob, "POST", "/v1/team/skills/pull", {"team": TEAM})["pulled"] == [skill["id"]]
    with bob.client("default") as b:
        now = b.get(f"/v1/skills/{skill['id']}").json()
        assert (now["version"], now["runs"]) == (2, 6)  # alice's 6 runs, counted once (her newer report)
        assert b.get(f"/v1/skills/{skill['id']}", params={"version": 1}).json()["runs"] == 5


def test_a_bundle_changed_in_transit_or_signed_by_a_stranger_is_refused_and_nothing_is_imported(servers, proxy):
    alice, bob = servers["alice"], servers["bob"]
    with alice.client("default") as a:
        run_deploy(a, "queue", "v7")
    assert call(alice, "POST", "/v1/team/skills/publish", {"skill_id": state["skill"], "team": TEAM})["version"] == 3

    def change_a_step(page: dict) -> None:
        for entry in page["skills"]:
            entry["bundle"]["objects"][0]["metadata"]["steps"][0]["tool"] = "exfiltrate"

    proxy.rewrite, proxy.mode = change_a_step, "tamper"
    tampered = memos(bob, "skills", "pull", "--team", TEAM, ok=False)
    assert tampered.returncode == 1 and "signature_invalid" in tampered.stderr and "refused" in tampered.stderr

    stranger = __import__("cryptography.hazmat.primitives.asymmetric.ed25519", fromlist=["x"]).Ed25519PrivateKey.generate()
    from pipeline.team.signing import public_text

    def resign_as_stranger(page: dict) -> None:
        for entry in page["skills"]:
            entry["bundle"]["publisher"]["public_key"] = public_text(stranger.public_key())
            entry["public_key"] = entry["bundle"]["publisher"]["public_key"]
            entry["signature"] = sign(stranger, entry["bundle"])

    proxy.rewrite = resign_as_stranger
    unknown = call(bob, "POST", "/v1/team/skills/pull", {"team": TEAM}, status=422)
    assert unknown["error"]["code"] == "unknown_signer" and "not a member of team" in unknown["error"]["message"]
    with bob.client("default") as b:
        assert b.get(f"/v1/skills/{state['skill']}").json()["version"] == 2  # neither was imported

    proxy.mode = "pass"
    assert call(bob, "POST", "/v1/team/skills/pull", {"team": TEAM})["pulled"] == [state["skill"]]
    with bob.client("default") as b:
        assert b.get(f"/v1/skills/{state['skill']}").json()["steps"][0]["tool"] == "build_image"


def kb_bundle(cube: dict, n: int) -> bytes:
    """A knowledge-base bundle of n notes with precomputed vectors (the server's model and width), one
    of them superseded by another."""
    rng = np.random.default_rng(20)
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    topics = ["kubernetes", "postgres", "billing", "oncall", "deploys", "tracing", "kafka", "redis"]

    def objects():
        for i in range(n):
            t = iso(1_700_000_000_000 + i)
            superseded = i == 1
            memory = {"object": "memory", "id": f"kb-note-{i:05d}", "cube": cube["id"], "agent": "default",
                      "tier": "trace", "kind": "note", "status": "superseded" if superseded else "active",
                      "content": f"runbook {i}: how we handle {topics[i % 8]} incidents, step {i % 13}",
                      "tags": [topics[i % 8]], "metadata": {}, "temporal": {"created_at": t, "updated_at": t}}
            yield memory
            yield {"object": "vector", "memory_id": memory["id"], "model": MODEL, "dimensions": 384,
                   "vector": vectors[i].tolist()}
            if i == 2:
                yield {"object": "link", "from": memory["id"], "to": "kb-note-00001", "type": "supersedes",
                       "created_at": t, "metadata": {}}

    header = {"object": "header", "format": "memos-interchange", "version": "1.0", "created_at": iso(1_700_000_000_000),
              "producer": {"name": "memos", "version": "test"},
              "cubes": [{"id": cube["id"], "kind": "kb", "name": cube["name"], "description": "", "owner": "default"}]}
    return b"".join(write_jsonl(header, objects(), lambda: {"embedding": {"model": MODEL, "dimensions": 384}}))


def import_into(c: httpx.Client, cube: str, data: bytes) -> dict:
    started = c.post("/v1/import", params={"cube": cube}, files={"file": ("kb.memos.jsonl", data)})
    assert started.status_code == 202, started.text
    for _ in range(3000):
        report = c.get(f"/v1/import/{started.json()['job_id']}").json()
        if report["status"] != "running":
            assert report["status"] == "done" and report["errors"] == 0, report
            return report
        time.sleep(0.1)
    raise AssertionError("import did not finish")


def search_ids(c: httpx.Client, cube: str, query: str, channel: str | None = None) -> list[str]:
    """Top ids; one channel only when asked (BM25 ties among near-identical notes break by index order,
    which a replica need not share, so whole lists are compared on the vector channel)."""
    body: dict[str, Any] = {"query": query, "cubes": [cube], "top_k": 10}
    if channel is not None:
        body["ranking"] = {"channels": [channel]}
    answer = c.post("/v1/search", json=body)
    assert answer.status_code == 200, answer.text
    return [h["id"] for h in answer.json()["results"]]


def test_a_kb_cube_replicates_resumes_after_a_cut_and_follows_deletes_and_edits(servers, proxy):
    hub, bob = servers["hub"], servers["bob"]
    with hub.client("default") as h:
        cube = h.post("/v1/cubes", json={"name": "runbooks"}).json()
        started = time.monotonic()
        report = import_into(h, cube["id"], kb_bundle(cube, KB_MEMORIES))
        state["kb_import_s"] = time.monotonic() - started
        assert report["added"] >= KB_MEMORIES and report["reused_vectors"] == KB_MEMORIES
    state["kb"] = cube["id"]
    assert call(hub, "POST", f"/v1/hub/teams/{TEAM}/cubes", {"cube": cube["id"]})["cubes"] == [cube["id"]]

    proxy.mode, proxy.pages_seen, proxy.cut_after_pages = "cut", 0, 2  # the third page is cut half-way
    first = call(bob, "POST", "/v1/team/replicas", {"team": TEAM, "cube": cube["id"]})
    assert first["state"] == "error" and "hub_unreachable" in first["error"]
    assert first["rows"] == 2000  # the two whole pages, kept; the cut one not
    proxy.mode = "pass"
    started = time.monotonic()
    (resumed,) = memos_json(bob, "hub", "sync")["replicas"]
    state["replicate_s"] = time.monotonic() - started
    assert (resumed["state"], resumed["lag"], resumed["error"]) == ("current", 0, None)

    with hub.client("default") as h, bob.client("default") as b:
        hub_count = h.get(f"/v1/cubes/{cube['id']}").json()
        bob_count = b.get(f"/v1/cubes/{cube['id']}").json()
        assert resumed["rows"] == KB_MEMORIES  # every memory once: the resumed pages added no duplicate
        for query in ("postgres incidents step 4", "how do we handle kafka"):
            assert search_ids(b, cube["id"], query, "vector") == search_ids(h, cube["id"], query, "vector")
        for unique in ("runbook 2617", "runbook 3033"):  # one note holds the number: the same top hit
            top = search_ids(h, cube["id"], unique)[0]
            assert top == f"kb-note-0{unique[-4:]}" == search_ids(b, cube["id"], unique)[0]
        old = b.get("/v1/memories/kb-note-00001", params={"cube": cube["id"]}).json()
        assert old["status"] == "superseded"
        # read-only: bob may read the replica, never write it
        refused = b.post("/v1/memories", json={"content": "mine", "cube": cube["id"]})
        assert refused.status_code == 403, refused.text

        for i in (10, 11, 12):
            assert h.delete(f"/v1/memories/kb-note-{i:05d}", params={"cube": cube["id"]}).status_code in (202, 204)
        edited = h.patch("/v1/memories/kb-note-00020", params={"cube": cube["id"]},
                         json={"content": "runbook 20: postgres failover, revised"})
        assert edited.status_code in (200, 202), edited.text
        for _ in range(100):  # the hub's own writes land first
            if h.get("/v1/memories/kb-note-00020", params={"cube": cube["id"]}).json()["version"] == 2 and \
                    h.get("/v1/memories/kb-note-00012", params={"cube": cube["id"]}).status_code == 404:
                break
            time.sleep(0.2)
        (after,) = call(bob, "POST", "/v1/team/sync", {})["replicas"]
        assert after["rows"] == KB_MEMORIES - 3 and after["lag"] == 0
        assert b.get("/v1/memories/kb-note-00010", params={"cube": cube["id"]}).status_code == 404
        revised = b.get("/v1/memories/kb-note-00020", params={"cube": cube["id"]}).json()
        assert revised["content"] == "runbook 20: postgres failover, revised" and revised["version"] == 2
        assert search_ids(b, cube["id"], "postgres failover revised")[0] == "kb-note-00020" == \
            search_ids(h, cube["id"], "postgres failover revised")[0]
    status = memos_json(bob, "hub", "status")
    assert [(r["cube"], r["state"], r["lag"]) for r in status["replicas"]] == [(cube["id"], "current", 0)]
    print(f"\nkb import {KB_MEMORIES}: {state['kb_import_s']:.1f} s; resume of the replica: {state['replicate_s']:.1f} s")


def test_discover_lists_the_hub_announced_on_loopback_and_joins_nothing(servers):
    hub, alice = servers["hub"], servers["alice"]
    found = memos_json(alice, "hub", "discover", "--interfaces", "127.0.0.1", "--seconds", "3")
    assert {"name": HUB_NAME, "url": hub.url} in [{"name": h["name"], "url": h["url"]} for h in found["hubs"]]
    assert len(call(hub, "GET", "/v1/hub/members")["members"]) == 2  # discovery joined nobody


def test_a_removed_member_is_refused_on_its_next_call(servers, proxy):
    hub, bob = servers["hub"], servers["bob"]
    credential = proxy.credential  # what anyone on bob's path saw
    assert credential is not None and credential.startswith("mcr_")
    feed = f"{hub.url}/v1/hub/teams/{TEAM}/skills/feed"
    assert httpx.get(feed, headers={"Authorization": f"Bearer {credential}"}).status_code == 200
    removed = call(hub, "DELETE", f"/v1/hub/members/{state['bob']}", published="keep")
    assert removed["status"] == "removed" and removed["dropped_skills"] == 0
    refused = httpx.get(feed, headers={"Authorization": f"Bearer {credential}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    pull = memos(bob, "skills", "pull", "--team", TEAM, ok=False)  # what the member's admin sees
    assert pull.returncode == 1 and "membership_revoked" in pull.stderr
    # alice, still a member, keeps pulling
    assert call(servers["alice"], "POST", "/v1/team/skills/pull", {"team": TEAM})["pulled"] == []
