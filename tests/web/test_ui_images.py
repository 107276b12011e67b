"""Image memories in a real browser: the memory list and the memory's page show its thumbnail, served to
the signed-in agent only."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.image_builders import words_png
from tests.web.conftest import WebServer, check_page
from tests.web.signed_in import marker, signed_in, write


def test_an_image_shows_its_thumbnail_in_the_list_and_on_its_page(web_server: WebServer,
                                                                 open_page: Callable[[str], Page]):
    text = marker("Harbour sign ")
    memory = write(web_server, "alice", text, image=base64.b64encode(words_png("HARBOUR")).decode())
    page = signed_in(open_page, web_server, "alice")
    page.get_by_role("link", name="Memories", exact=True).click()
    row_thumb = page.get_by_role("link", name=text).locator("img.thumb")
    expect(row_thumb).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=row_thumb.element_handle())
    page.get_by_role("link", name=text).click()
    figure = page.locator("figure.image img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 256", arg=figure.element_handle())
    expect(page.locator("figure.image figcaption")).to_contain_text("image/png · 1000×192")
    check_page(page)
    # The UI's image address is the signed-in agent's read like any other: bob's session gets a 404.
    bob = signed_in(open_page, web_server, "bob")
    answer = bob.request.get(f"/ui/memories/{memory['id']}/thumbnail?cube={memory['cube']}")
    assert answer.status == 404
    assert httpx.get(f"{web_server.url}/ui/memories/{memory['id']}/image").status_code == 303  # to sign-in
