"""Sign-in and the session's safety in a real browser: the key becomes an HttpOnly, SameSite=Strict
session cookie with an expiry; sign-out ends it; a state-changing request needs the page's CSRF token;
a revoked key ends its sessions; with auth off the UI says so and shows the chosen agent's view."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from api.server_process import ServerProcess
from tests.web.conftest import ADMIN, WebServer, check_page, sign_in
from tests.web.signed_in import marker, signed_in


def test_a_key_signs_in_with_a_strict_httponly_expiring_cookie_and_sign_out_ends_it(
        web_server: WebServer, open_page: Callable[[str], Page]):
    page = open_page(f"{web_server.url}/ui/memories")
    expect(page).to_have_url(f"{web_server.url}/ui/signin?next=/ui/memories")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    check_page(page)

    page.get_by_label("API key").fill(web_server.keys["alice"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{web_server.url}/ui/memories")  # back where it was going
    expect(page.get_by_text("Signed in as")).to_contain_text("alice")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "memos_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert 11 * 3600 < cookie["expires"] - time.time() <= 12 * 3600  # ui_session_hours = 12
    assert web_server.keys["alice"] not in cookie["value"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    # The old session id is dead on the server, not only forgotten by this browser.
    stale = httpx.get(f"{web_server.url}/ui/memories", cookies={"memos_session": cookie["value"]})
    assert stale.status_code == 303 and stale.headers["location"].startswith("/ui/signin")


def test_a_wrong_key_is_refused_on_the_sign_in_page(web_server: WebServer, open_page: Callable[[str], Page]):
    page = open_page(f"{web_server.url}/ui/signin")
    page.get_by_label("API key").fill("mk_aaaaaaaaaaaa_" + "b" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert page.url.startswith(f"{web_server.url}/ui/signin")
    check_page(page)


def test_a_state_changing_request_without_the_pages_csrf_token_changes_nothing(
        web_server: WebServer, open_page: Callable[[str], Page]):
    page = signed_in(open_page, web_server, "alice")
    name = marker("csrf-cube-")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    # The browser's own cookies, but no token, a wrong one, or another site's Origin: each refused.
    for form, headers in (({"name": name}, {}), ({"name": name, "csrf_token": "forged"}, {}),
                          ({"name": name, "csrf_token": token}, {"Origin": "https://evil.example"})):
        refused = page.request.post(f"{web_server.url}/ui/cubes", form=form, headers=headers, max_redirects=0)
        assert refused.status == 403, (form, headers)
        assert "csrf_refused" in refused.text()
    with web_server.api("alice") as api:
        assert name not in [c["name"] for c in api.get("/v1/cubes").json()]
    made = page.request.post(f"{web_server.url}/ui/cubes", form={"name": name, "csrf_token": token}, max_redirects=0)
    assert made.status == 303
    with web_server.api("alice") as api:
        assert name in [c["name"] for c in api.get("/v1/cubes").json()]


def test_an_operator_makes_and_revokes_a_key_and_the_revoked_keys_session_ends(
        web_server: WebServer, open_page: Callable[[str], Page]):
    ops = signed_in(open_page, web_server, ADMIN)
    ops.get_by_role("link", name="Settings", exact=True).click()
    agent = marker("dave")
    ops.get_by_label("Agent", exact=True).fill(agent)
    ops.get_by_role("button", name="Create key").click()
    key = ops.locator("#new-key").inner_text().strip()
    assert key.startswith("mk_")
    check_page(ops)

    dave = open_page(f"{web_server.url}/ui/signin")
    sign_in(dave, key)
    expect(dave.get_by_text("Signed in as")).to_contain_text(agent)

    key_id = key.split("_")[1]
    ops.reload()
    ops.get_by_role("button", name=f"Revoke key {key_id}").click()
    expect(ops.get_by_role("status").first).to_contain_text(f"Revoked key {key_id}")
    dave.goto("/ui/memories")
    expect(dave.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(dave.get_by_role("status").first).to_contain_text("revoked")


def test_with_auth_off_the_ui_says_so_and_shows_the_agent_chosen(server: ServerProcess,
                                                                  open_page: Callable[[str], Page]):
    agent = marker("viewer")
    text = marker("memory of the chosen agent ")
    with server.client(agent) as api:
        assert api.post("/v1/memories", params={"wait": "true"}, json={"content": text}).status_code == 201
    page = open_page(f"{server.url}/ui/memories")
    expect(page.get_by_role("region", name="Authentication is off")).to_contain_text("no API keys")
    expect(page.get_by_role("link", name=text)).to_have_count(0)
    page.get_by_label("Agent", exact=True).fill(agent)
    page.get_by_role("button", name="View as agent").click()
    expect(page).to_have_url(f"{server.url}/ui/memories")
    expect(page.get_by_role("link", name=text)).to_be_visible()
    expect(page.locator(".who")).to_have_text(f"Viewing as {agent}")
    check_page(page)
