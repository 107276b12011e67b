"""The web UI's Team page (issue 20) on a real hub and a real member on loopback, in Debian's chromium:
a server in no team explains `memos hub init` and `memos hub join`; on the hub a pending member is
rejected and, asked again, approved from the page (the member's own status agrees), a refused action
shows the typed error's message, a published skill shows its publisher and signature status, and a
member is removed with its skills dropped; on the member its replica shows state, lag and rows, and
Sync now brings the hub's new memories over; once auth is on, an agent without an admin key sees no
team and may not sync. Every page passes the tests/web page checks (axe-core).

The servers are this module's own (two: a hub and a member, started once), so test_team.py's servers
and assertions are untouched in either order. The tests run in order and build on each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.server_process import ServerProcess
from storage.api_keys import ApiKeys
from storage.paths import DataPaths
from tests.team.conftest import FAST, _start
from tests.team.test_team import run_deploy
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, check_page, open_page, sign_in  # noqa: F401 (open_page: a fixture)

pytestmark = pytest.mark.timeout(900)  # two servers start before the first test

TEAM = "ui-team"
NOTES = 6
state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    """A hub and one member, both keyless on loopback (the UI needs no sign-in), started side by side."""
    root = tmp_path_factory.mktemp("team-ui")
    specs = {"hub": {**FAST, "hub": "true", "hub_announce": "false", "team_page_size": "4"}, "member": FAST}
    started: dict[str, ServerProcess] = {}
    failed: list[BaseException] = []

    def start(name: str) -> None:
        try:
            started[name] = _start(root / name, specs[name])
        except BaseException as exc:  # re-raised below, after the other one is stopped
            failed.append(exc)

    threads = [threading.Thread(target=start, args=(name,)) for name in specs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        if failed:
            raise failed[0]
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """This module's chromium, launched as tests/web's is (its own session browser is not started here)."""
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def call(server: ServerProcess, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    with server.client("default", timeout=300) as c:
        answer = c.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def member_row(page: Page, member: str):
    return page.locator(f'table.team-members tr[data-member="{member}"]')


def membership_status(member: ServerProcess) -> list[tuple[str, str]]:
    """What `memos hub status` prints of the memberships (`GET /v1/team/status`, the command's own call)."""
    return [(m["team"], m["status"]) for m in call(member, "GET", "/v1/team/status")["memberships"]]


def test_a_server_in_no_team_explains_how_to_be_a_hub_or_join_one(pair):
    page = httpx.get(f"{pair['member'].url}/ui/team", timeout=60)
    assert page.status_code == 200
    assert "neither hub nor member" in page.text and "memos hub init --team NAME" in page.text
    assert "memos hub join URL --token TOKEN" in page.text
    hub = httpx.get(f"{pair['hub'].url}/ui/team", timeout=60)
    assert hub.status_code == 200 and "No team yet" in hub.text and '<a href="/ui/team" aria-current="page">Team</a>' \
        in hub.text


def test_the_hub_rejects_then_approves_a_pending_member_from_its_team_page(pair, open_page: Callable[[str], Page]):
    hub, member = pair["hub"], pair["member"]
    token = call(hub, "POST", "/v1/hub/teams", {"team": TEAM})["join_token"]
    state["token"] = token
    joined = call(member, "POST", "/v1/team/join", {"url": hub.url, "token": token})
    state["member"] = mid = joined["member"]

    page = open_page(f"{hub.url}/ui/team")
    expect(page.get_by_role("heading", level=2, name=f"Team {TEAM} (this server is its hub)")).to_be_visible()
    row = member_row(page, mid)
    expect(row).to_contain_text("pending")
    check_page(page)

    row.get_by_role("button", name=f"Reject {mid}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Rejected {mid} in team {TEAM}")
    expect(member_row(page, mid)).to_contain_text("rejected")
    assert membership_status(member) == [(TEAM, "rejected")]

    assert call(member, "POST", "/v1/team/join", {"url": hub.url, "token": token})["status"] == "pending"
    page.reload()
    expect(member_row(page, mid)).to_contain_text("pending")
    member_row(page, mid).get_by_role("button", name=f"Approve {mid}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Approved {mid} in team {TEAM}")
    expect(member_row(page, mid)).to_contain_text("approved")
    expect(member_row(page, mid).get_by_role("button", name=f"Remove {mid}")).to_be_visible()
    check_page(page)
    assert membership_status(member) == [(TEAM, "approved")]
    assert [(m["member"], m["status"]) for m in call(hub, "GET", "/v1/hub/members")["members"]] == [(mid, "approved")]

    # A decision the hub's service refuses (no such member) comes back as the page with its message.
    stranger = "srv-" + "0" * 20
    token_field = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post(f"{hub.url}/ui/team/members/{stranger}/approve",
                                form={"csrf_token": token_field, "team": TEAM})
    assert refused.status == 200 and f"member {stranger} is not in team {TEAM} (not_found)" in refused.text()
    assert 'class="problem" role="alert"' in refused.text()


def test_the_member_page_shows_its_replica_with_state_lag_and_rows_and_syncs_now(pair, open_page):
    hub, member = pair["hub"], pair["member"]
    with hub.client("default", timeout=300) as h:
        cube = h.post("/v1/cubes", json={"name": "ui-runbooks"}).json()
        for i in range(NOTES):
            made = h.post("/v1/memories", params={"wait": "true"},
                          json={"content": f"runbook {i}: restart the queue", "cube": cube["id"]})
            assert made.status_code == 201, made.text
    state["cube"] = cube["id"]
    call(hub, "POST", f"/v1/hub/teams/{TEAM}/cubes", {"cube": cube["id"]})
    first = call(member, "POST", "/v1/team/replicas", {"team": TEAM, "cube": cube["id"]})
    assert (first["state"], first["lag"], first["rows"]) == ("current", 0, NOTES)  # two pages of 4

    page = open_page(f"{member.url}/ui/team")
    expect(page.locator(f'table.team-memberships tr[data-team="{TEAM}"]')).to_contain_text("approved")
    replica = page.locator(f'table.team-replicas tr[data-cube="{cube["id"]}"]')
    cells = replica.locator("td")
    expect(cells.nth(2)).to_have_text("current")
    expect(cells.nth(3)).to_have_text("0")  # lag
    expect(cells.nth(4)).to_have_text(str(NOTES))  # rows
    expect(cells.nth(5)).not_to_have_text("never")  # the last sync time
    expect(cells.nth(6)).to_have_text("–")  # no error
    check_page(page)

    with hub.client("default", timeout=300) as h:
        for i in range(2):
            made = h.post("/v1/memories", params={"wait": "true"},
                          json={"content": f"runbook late {i}: drain the node", "cube": cube["id"]})
            assert made.status_code == 201, made.text
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status")).to_contain_text("Synced 1 replica(s).")
    cells = page.locator(f'table.team-replicas tr[data-cube="{cube["id"]}"] td')
    expect(cells.nth(4)).to_have_text(str(NOTES + 2))
    expect(cells.nth(3)).to_have_text("0")
    (replica_status,) = call(member, "GET", "/v1/team/status")["replicas"]
    assert (replica_status["state"], replica_status["lag"], replica_status["rows"]) == ("current", 0, NOTES + 2)
    check_page(page)


def test_the_hub_lists_shared_cubes_and_skills_and_removes_a_member_dropping_them(pair, open_page):
    hub, member = pair["hub"], pair["member"]
    mid = state["member"]
    with member.client("default", timeout=300) as m:
        for service, tag in [("api", "v1"), ("web", "v2"), ("billing", "v3"), ("search", "v4"), ("auth", "v5")]:
            run_deploy(m, service, tag)
        (skill,) = m.get("/v1/skills").json()
    call(member, "POST", "/v1/team/skills/publish", {"skill_id": skill["id"], "team": TEAM})

    page = open_page(f"{hub.url}/ui/team")
    cubes = page.get_by_role("table", name="Shared knowledge-base cubes")
    expect(cubes).to_contain_text(state["cube"])
    skills = page.get_by_role("table", name="Published skills")
    expect(skills.get_by_role("row").filter(has_text=skill["id"])).to_contain_text(mid)
    expect(skills.get_by_role("row").filter(has_text=skill["id"])).to_contain_text("verified")
    check_page(page)

    row = member_row(page, mid)
    row.get_by_label(f"What {mid} published").select_option("drop")
    row.get_by_role("button", name=f"Remove {mid}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Removed {mid} from team {TEAM}")
    expect(page.get_by_role("status")).to_contain_text("1 published skill(s) dropped")
    expect(member_row(page, mid)).to_contain_text("removed")
    expect(page.get_by_role("table", name="Published skills")).to_have_count(0)
    assert call(hub, "GET", f"/v1/hub/teams/{TEAM}/skills")["skills"] == []
    check_page(page)


def test_with_auth_on_an_agent_without_an_admin_key_sees_no_team_and_cannot_sync(pair, open_page):
    member = pair["member"]
    keys = ApiKeys(DataPaths(member.data_dir).registry_db)  # as `memos keys create`: auth is on from now on
    key = keys.create("dana", admin=False)[1]
    keys.close()
    page = open_page(f"{member.url}/ui/signin")
    sign_in(page, key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    expect(page.locator("main")).to_contain_text("Only operators (admin keys) see and manage this server's team")
    expect(page.get_by_role("button", name="Sync now")).to_have_count(0)
    assert state["cube"] not in page.content()
    check_page(page)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post(f"{member.url}/ui/team/sync", form={"csrf_token": token})
    assert refused.status == 403 and "this needs an admin key" in refused.text()
