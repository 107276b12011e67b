"""Lifecycle and governance end to end (issue 17): expiry, archive and restore, POST /v1/cleanup,
retention rules applied by the sweeper, the governance report, and their CLI commands, on the
shared real server (its sweeper runs every `sweep_interval_s`, 10 s by default)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from click.testing import Result
from typer.testing import CliRunner

from api.cli.main import app

SWEEP_WAIT_S = 60  # a few sweeps, on a loaded machine


def add(c: httpx.Client, content: str, **fields: Any) -> dict[str, Any]:
    r = c.post("/v1/memories?wait=true", json={"content": content, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [m["id"] for m in page["items"]]


def listed(c: httpx.Client, **query: Any) -> list[str]:
    r = c.get("/v1/memories", params={"limit": 1000, **query})
    assert r.status_code == 200, r.text
    return ids(r.json())


def found(c: httpx.Client, query: str) -> list[str]:
    r = c.post("/v1/search", json={"query": query, "top_k": 20})
    assert r.status_code == 200, r.text
    return [h["id"] for h in r.json()["results"]]


def cleanup(c: httpx.Client, action: str, filter: dict[str, Any], dry_run: bool, **extra: Any) -> dict[str, Any]:
    r = c.post("/v1/cleanup", json={"filter": filter, "action": action, "dry_run": dry_run, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def eventually(check: Callable[[], bool], timeout_s: float = SWEEP_WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the sweeper did not get to it"
        time.sleep(0.5)


def audit_actions(c: httpx.Client, cube: str) -> list[dict[str, Any]]:
    return c.get("/v1/audit", params={"cube": cube, "limit": 200}).json()["events"]


def test_an_expired_memory_leaves_every_read_at_once_and_the_sweeper_deletes_it_and_applies_retention(server):
    c = server.client("lc_expiry")
    keep = add(c, "the quokka keeper note")
    brief = add(c, "the quokka brief note", ttl_s=2)
    assert brief["expires_at"] is not None
    assert sorted(found(c, "quokka")) == sorted([keep["id"], brief["id"]])
    # Retention: keep only the newest message; the two older ones go at the next sweep.
    old = [add(c, f"quokka message {i}", kind="message", created_at=f"2026-01-0{i}T00:00:00Z") for i in (1, 2)]
    newest = add(c, "quokka message 3", kind="message", created_at="2026-01-03T00:00:00Z")
    rule = c.put("/v1/cubes/agent-lc_expiry/retention/one-message", json={"kind": "message", "max_count": 1})
    assert rule.status_code == 200, rule.text
    assert rule.json()["created_by"] == "lc_expiry" and rule.json()["max_count"] == 1

    time.sleep(2.2)  # past the expiry
    eventually(lambda: c.get(f"/v1/memories/{brief['id']}").status_code == 404, timeout_s=5)
    assert brief["id"] not in listed(c, status="all")
    assert brief["id"] not in found(c, "quokka")
    assert c.get(f"/v1/memories/{brief['id']}/timeline").status_code == 404

    def swept() -> bool:
        actions = {e["action"]: e for e in audit_actions(c, "agent-lc_expiry")}
        return "memory.expire" in actions and "retention.apply" in actions

    eventually(swept)
    events = audit_actions(c, "agent-lc_expiry")
    expire = next(e for e in events if e["action"] == "memory.expire")
    assert expire["details"]["ids"] == [brief["id"]] and expire["actor"] == "memos-sweeper"
    applied = next(e for e in events if e["action"] == "retention.apply")
    assert applied["details"]["rule"] == "one-message"
    assert sorted(applied["details"]["ids"]) == sorted(m["id"] for m in old)
    eventually(lambda: c.get("/v1/cubes/agent-lc_expiry/report").json()["expired_unswept"] == 0, timeout_s=30)
    eventually(lambda: listed(c, kind="message", status="all") == [newest["id"]], timeout_s=30)
    assert listed(c, kind="note") == [keep["id"]]
    # A sweep later, the rule finds nothing more to do: still one application recorded.
    assert c.delete("/v1/cubes/agent-lc_expiry/retention/one-message").status_code == 204
    assert c.get("/v1/cubes/agent-lc_expiry/retention").json()["rules"] == []
    assert c.delete("/v1/cubes/agent-lc_expiry/retention/one-message").status_code == 404


def test_patch_sets_and_takes_away_an_expiry(server):
    c = server.client("lc_patch")
    m = add(c, "a note to expire later")
    assert m["expires_at"] is None
    r = c.patch(f"/v1/memories/{m['id']}", json={"ttl_s": 3600})
    assert r.status_code == 200, r.text
    assert r.json()["expires_at"] is not None and r.json()["content"] == "a note to expire later"
    r = c.patch(f"/v1/memories/{m['id']}", json={"expires_at": None})
    assert r.status_code == 200 and r.json()["expires_at"] is None
    both = c.patch(f"/v1/memories/{m['id']}", json={"ttl_s": 5, "expires_at": "2030-01-01T00:00:00Z"})
    assert both.status_code == 422 and both.json()["error"]["code"] == "invalid"
    assert c.post("/v1/memories", json={"content": "x", "ttl_s": 0}).status_code == 422
    r = c.patch(f"/v1/memories/{m['id']}", json={"expires_at": "2001-01-01T00:00:00Z"})
    assert r.status_code in (200, 404)  # stored, and already expired: the answer may not show it
    assert c.get(f"/v1/memories/{m['id']}").status_code == 404
    assert m["id"] not in listed(c)


def test_a_dry_run_changes_nothing_and_the_real_run_changes_exactly_what_it_reported(server):
    c = server.client("lc_cleanup")
    old = [add(c, f"walrus log line {i}", tags=["old"]) for i in range(3)]
    new = [add(c, f"walrus fresh line {i}") for i in range(2)]
    before = {m["id"]: c.get(f"/v1/memories/{m['id']}").json() for m in old + new}

    dry = cleanup(c, "archive", {"tags": ["old"]}, dry_run=True)
    assert dry["matched"] == 3 and dry["job_id"] is None and dry["dry_run"] is True
    assert sorted(m["id"] for m in dry["sample"]) == sorted(m["id"] for m in old)
    assert {i: c.get(f"/v1/memories/{i}").json() for i in before} == before  # nothing changed, not even a version

    real = cleanup(c, "archive", {"tags": ["old"]}, dry_run=False)
    assert real["matched"] == 3 and real["status"] == "done" and real["job_id"]
    assert sorted(m["id"] for m in real["sample"]) == sorted(m["id"] for m in dry["sample"])
    assert sorted(listed(c, status="archived")) == sorted(m["id"] for m in old)
    assert sorted(listed(c)) == sorted(m["id"] for m in new)
    assert sorted(found(c, "walrus")) == sorted(m["id"] for m in new)  # archived: out of search
    job = c.get(f"/v1/jobs/{real['job_id']}").json()
    assert job["total"] == 3 and job["done"] == 3 and job["status"] == "done"

    again = cleanup(c, "archive", {"tags": ["old"], "status": "all"}, dry_run=True)
    assert again["matched"] == 0  # already archived: nothing would change
    restored = cleanup(c, "restore", {}, dry_run=False)
    assert restored["matched"] == 3 and restored["status"] == "done"
    assert listed(c, status="archived") == []
    assert sorted(found(c, "walrus")) == sorted(m["id"] for m in old + new)
    assert any(e["action"] == "cleanup.archive" and e["details"]["matched"] == 3
               for e in audit_actions(c, "agent-lc_cleanup"))


def test_cleanup_filters_and_actions(server):
    c = server.client("lc_actions")
    a = add(c, "pelican invoice from march", created_at="2026-03-01T00:00:00Z")
    b = add(c, "pelican invoice from june", created_at="2026-06-01T00:00:00Z")
    d = add(c, "pelican invoice from june", created_at="2026-06-02T00:00:00Z")  # an exact duplicate of b
    e = add(c, "pelican receipt", created_at="2026-07-01T00:00:00Z")
    assert c.get(f"/v1/memories/{d['id']}").json()["status"] == "duplicate"

    tagged = cleanup(c, "add_tag", {"query": "INVOICE pelican", "after": "2026-02-01T00:00:00Z",
                                    "before": "2026-06-15T00:00:00Z"}, dry_run=False, tag="billing")
    assert tagged["matched"] == 2  # a and b; d is a duplicate, not active
    assert c.get(f"/v1/memories/{a['id']}").json()["tags"] == ["billing"]
    assert listed(c, tag="billing") == [b["id"], a["id"]]
    untagged = cleanup(c, "remove_tag", {"tags": ["billing"], "before": "2026-04-01T00:00:00Z"}, False, tag="billing")
    assert untagged["matched"] == 1 and listed(c, tag="billing") == [b["id"]]

    dupes = cleanup(c, "delete", {"duplicates": True}, dry_run=False)
    assert [m["id"] for m in dupes["sample"]] == [d["id"]]
    assert c.get(f"/v1/memories/{d['id']}").status_code == 404

    assert c.post("/v1/feedback", json={"memory_id": e["id"], "signal": "not_useful"}).status_code in (200, 201)
    worst = cleanup(c, "archive", {"feedback_at_most": -1}, dry_run=True)
    assert [m["id"] for m in worst["sample"]] == [e["id"]]

    assert a["id"] in found(c, "pelican invoice march")
    never = cleanup(c, "archive", {"never_retrieved": True}, dry_run=True)
    assert a["id"] not in [m["id"] for m in never["sample"]]

    kb = c.post("/v1/cubes", json={"name": "lc archive"}).json()["id"]
    moved = cleanup(c, "move", {"query": "receipt"}, dry_run=False, to=kb)
    assert moved["matched"] == 1 and moved["status"] == "done"
    assert c.get(f"/v1/memories/{e['id']}").status_code == 404
    copy = c.get("/v1/memories", params={"cube": kb}).json()["items"]
    assert [m["content"] for m in copy] == ["pelican receipt"]
    assert copy[0]["metadata"]["moved_from"] == {"cube": "agent-lc_actions", "id": e["id"]}

    bad = c.post("/v1/cleanup", json={"filter": {}, "action": "add_tag", "dry_run": True})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    other = server.client("lc_intruder").post(
        "/v1/cleanup", json={"filter": {"cube": "agent-lc_actions"}, "action": "delete", "dry_run": True})
    assert other.status_code == 404  # another agent's cube: no role, so no such cube to it
    assert server.client("lc_intruder").get("/v1/cubes/agent-lc_actions/report").status_code == 404


def test_the_report_counts_what_the_cube_holds(server):
    c = server.client("lc_report")
    first = add(c, "otter oldest fact", tags=["x"], created_at="2025-01-01T00:00:00Z")
    middle = add(c, "otter middle", tags=["x", "y"], created_at="2026-11-01T00:00:00Z")
    add(c, "otter middle", created_at="2026-11-02T00:00:00Z")  # a duplicate
    gone = add(c, "otter archived")
    cleanup(c, "archive", {"query": "archived"}, dry_run=False)
    hits = set(found(c, "otter oldest fact"))
    assert first["id"] in hits

    r = c.get("/v1/cubes/agent-lc_report/report")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["total"] == 4 and report["active"] == 2
    assert {s["name"]: s["memories"] for s in report["by_status"]} == {"active": 2, "duplicate": 1, "archived": 1}
    assert report["by_tag"] == [{"name": "x", "memories": 2}, {"name": "y", "memories": 1}]
    assert report["by_kind"] == [{"name": "note", "memories": 4}]
    assert report["duplicates"] == 1 and report["duplicate_groups"] == 1 and report["archived"] == 1
    assert sum(b["memories"] for b in report["by_age"]) == 2
    assert {b["name"]: b["memories"] for b in report["by_age"]}["over 365 days"] == 1
    assert report["never_retrieved"] == len({first["id"], middle["id"]} - hits) and report["superseded_facts"] == 0
    assert report["oldest"][0]["id"] == first["id"] and report["oldest"][0]["content"] == "otter oldest fact"
    assert gone["id"] not in [o["id"] for o in report["oldest"]]
    assert report["size_bytes"] > 0
    page = httpx.get(f"{server.url}/ui/cubes/agent-default", timeout=60)  # the web UI's cube page shows it too
    assert page.status_code == 200 and "Governance" in page.text and "Retention rules" in page.text


def cli(server, *args: str, agent: str = "lc_cli") -> Result:
    """The real commands against the real server, in this process (a `memos` start costs seconds under load)."""
    return CliRunner().invoke(app, list(args), env={"MEMOS_URL": server.url, "MEMOS_AGENT": agent,
                                                    "MEMOS_API_KEY": ""})


def test_cli_cleanup_tag_retention_and_report(server):
    c = server.client("lc_cli")
    notes = [add(c, f"heron note {i}") for i in range(2)]
    dry = cli(server, "cleanup", "archive", "--filter", "query=heron", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["matched"] == 2 and len(listed(c)) == 2

    tagged = cli(server, "tag", "add", "birds", "--filter", "query=heron note 1", "--json")
    assert tagged.exit_code == 0, tagged.output
    assert json.loads(tagged.stdout)["matched"] == 1 and listed(c, tag="birds") == [notes[1]["id"]]
    assert json.loads(cli(server, "tag", "rm", "birds", "-f", "tags=birds", "--json").stdout)["matched"] == 1
    assert listed(c, tag="birds") == []

    set_rule = cli(server, "retention", "set", "old-notes", "--kind", "note", "--max-age", "90d", "--action",
                   "archive", "--json")
    assert set_rule.exit_code == 0, set_rule.output
    assert json.loads(set_rule.stdout)["max_age_s"] == 90 * 86_400
    rules = json.loads(cli(server, "retention", "list", "--json").stdout)
    assert rules["cube"] == "agent-lc_cli" and [r["id"] for r in rules["rules"]] == ["old-notes"]
    assert "old-notes: archive" in cli(server, "retention", "list").stdout
    assert cli(server, "retention", "rm", "old-notes").exit_code == 0
    missing = cli(server, "retention", "rm", "old-notes")
    assert missing.exit_code == 1 and "not_found" in missing.stderr

    report = cli(server, "report", "--json")
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["active"] == 2
    assert "by kind: note 2" in cli(server, "report").stdout
    bad = cli(server, "cleanup", "delete", "--filter", "nonsense")
    assert bad.exit_code == 1 and "KEY=VALUE" in bad.stderr
