"""Looking after memories in a real browser, checked against the JSON API: find one written over the API,
edit it (version 2), tag it, delete it (404), bulk-tag three, see a conflicting edit, search with
`why`, and hostile Markdown rendered inert."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.web.conftest import WebServer, check_page
from tests.web.signed_in import marker, signed_in, write


def open_memory(page: Page, text: str) -> None:
    """From the Memories page, follow the link whose text starts with the memory's content."""
    page.get_by_role("link", name="Memories", exact=True).click()
    page.get_by_role("link", name=text).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Memory")


def test_a_memory_written_over_the_api_is_found_edited_and_saved_as_version_2(
        web_server: WebServer, open_page: Callable[[str], Page]):
    text = marker("Deploys run at 17:00 UTC ")
    memory = write(web_server, "alice", f"{text}\nsecond line", tags=["ops"])
    page = signed_in(open_page, web_server, "alice")
    open_memory(page, text)
    check_page(page)
    page.get_by_label("Content", exact=True).fill(f"{text} (moved to 18:00)")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Saved as version 2")
    with web_server.api("alice") as api:
        stored = api.get(f"/v1/memories/{memory['id']}").json()
    assert (stored["version"], stored["content"], stored["tags"]) == (2, f"{text} (moved to 18:00)", ["ops"])
    # The page shows the version history with the change between the two.
    expect(page.locator(".diff-removed").filter(has_text="second line")).to_have_count(1)
    expect(page.locator(".diff-added")).to_contain_text(f"{text} (moved to 18:00)")
    check_page(page)


def test_tags_typed_comma_separated_are_stored_as_tags(web_server: WebServer, open_page: Callable[[str], Page]):
    text = marker("Tag me ")
    memory = write(web_server, "alice", text, tags=["old"])
    page = signed_in(open_page, web_server, "alice")
    open_memory(page, text)
    page.get_by_label("Tags", exact=True).fill("old, runbook ,  deploys")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#memory-tags")).to_have_text("old, runbook, deploys")
    with web_server.api("alice") as api:
        assert api.get(f"/v1/memories/{memory['id']}").json()["tags"] == ["old", "runbook", "deploys"]


def test_delete_asks_for_confirmation_then_the_api_answers_404(web_server: WebServer,
                                                              open_page: Callable[[str], Page]):
    text = marker("Delete me ")
    memory = write(web_server, "alice", text)
    page = signed_in(open_page, web_server, "alice")
    open_memory(page, text)
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this memory?")
    check_page(page)
    with web_server.api("alice") as api:
        assert api.get(f"/v1/memories/{memory['id']}").status_code == 200  # asking deleted nothing
    page.get_by_role("button", name="Confirm delete").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Deleted memory {memory['id']}")
    expect(page.get_by_role("link", name=text)).to_have_count(0)
    with web_server.api("alice") as api:
        assert api.get(f"/v1/memories/{memory['id']}").status_code == 404


def test_three_memories_selected_are_tagged_at_once(web_server: WebServer, open_page: Callable[[str], Page]):
    run = marker("bulk ")
    memories = [write(web_server, "alice", f"{run} item {i}") for i in range(4)]
    page = signed_in(open_page, web_server, "alice")
    page.get_by_role("link", name="Memories", exact=True).click()
    for i in range(3):
        page.get_by_label(f"Select {run} item {i}").check()
    page.get_by_label("Tag for selected").fill("reviewed")
    page.get_by_role("button", name="Add tag to selected").click()
    expect(page.get_by_role("status").first).to_contain_text("Tagged 3 of 3 memories with 'reviewed'")
    check_page(page)
    with web_server.api("alice") as api:
        tags = [api.get(f"/v1/memories/{m['id']}").json()["tags"] for m in memories]
    assert tags == [["reviewed"], ["reviewed"], ["reviewed"], []]


def test_an_edit_against_an_older_version_shows_the_conflict_and_the_newer_text(
        web_server: WebServer, open_page: Callable[[str], Page]):
    text = marker("Conflicted ")
    memory = write(web_server, "alice", text)
    page = signed_in(open_page, web_server, "alice")
    open_memory(page, text)  # the form now holds version 1
    with web_server.api("alice") as api:  # meanwhile, another client saves version 2
        newer = api.patch(f"/v1/memories/{memory['id']}", json={"content": f"{text} changed elsewhere"})
        assert newer.status_code == 200 and newer.json()["version"] == 2
    page.get_by_label("Content", exact=True).fill(f"{text} my edit")
    page.get_by_role("button", name="Save", exact=True).click()
    conflict = page.get_by_role("alert").filter(has_text="Conflict")
    expect(conflict).to_contain_text("changed while you were editing")
    expect(conflict).to_contain_text(f"{text} changed elsewhere")  # the newer text, shown
    expect(page.get_by_label("Content", exact=True)).to_have_value(f"{text} my edit")  # the edit, kept
    check_page(page, expected_errors=["409"])
    with web_server.api("alice") as api:
        assert api.get(f"/v1/memories/{memory['id']}").json()["content"] == f"{text} changed elsewhere"
    page.get_by_role("button", name="Save", exact=True).click()  # saving again overwrites, on purpose
    expect(page.get_by_role("status").first).to_contain_text("Saved as version 3")


def test_search_shows_each_results_why_and_keeps_within_the_token_budget(
        web_server: WebServer, open_page: Callable[[str], Page]):
    word = marker("zebrafish")
    for i in range(3):
        write(web_server, "alice", f"The {word} tank {i} needs cleaning every week, said the keeper of the aquarium")
    page = signed_in(open_page, web_server, "alice")
    page.get_by_role("link", name="Memories", exact=True).click()
    page.get_by_label("Search memories").fill(word)
    page.get_by_label("Token budget").fill("40")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator("#search-results ol.results > li")
    expect(results.first).to_contain_text(word)
    kept = results.count()
    assert 1 <= kept < 3  # each memory is ~25 tokens: a 40-token budget keeps one
    expect(page.locator("#search-results")).to_contain_text("Left out to fit the budget")
    results.first.get_by_text("Why this result").click()
    expect(results.first.locator("details.why")).to_contain_text("BM25")
    expect(results.first.locator("details.why")).to_contain_text("Fusion")
    check_page(page)


def test_hostile_markdown_renders_inert(web_server: WebServer, open_page: Callable[[str], Page]):
    text = marker("Hostile ")
    payload = (f"{text}\n\n<script>window.pwned = 'script'</script>\n\n<img src=x onerror=\"window.pwned='img'\">\n\n"
               "[click me](javascript:window.pwned='link')\n\n<svg onload=\"window.pwned='svg'\"><circle r=9></circle></svg>\n\n"
               "![pixel](https://tracker.example/pixel.png)")
    write(web_server, "alice", payload)
    page = signed_in(open_page, web_server, "alice")
    open_memory(page, text)
    body = page.locator(".markdown").first
    expect(body).to_contain_text("click me")
    assert page.evaluate("() => window.pwned") is None
    assert body.locator("script, img, svg, [onerror], [onload]").count() == 0
    assert body.locator("a[href^='javascript']").count() == 0
    check_page(page)  # nothing fetched from tracker.example, nothing the CSP had to refuse
