"""/docs and /redoc work offline from vendored files, and the browser harness judges pages as it claims to."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.server_process import ServerProcess
from tests.web.conftest import check_page

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def operations(server: ServerProcess) -> list[tuple[str, str]]:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    return sorted((method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if method in HTTP_METHODS)


def test_swagger_ui_shows_every_operation_with_no_outside_request(server: ServerProcess,
                                                                    open_page: Callable[[str], Page]):
    page = open_page(f"{server.url}/docs")
    ops = operations(server)
    expect(page.locator(".opblock")).to_have_count(len(ops), timeout=30_000)
    shown = sorted((page.locator(".opblock-summary-method").nth(i).inner_text(),
                    page.locator(".opblock-summary-path").nth(i).get_attribute("data-path"))
                   for i in range(len(ops)))
    assert shown == ops
    expect(page.get_by_role("heading", level=1)).to_contain_text("MemOS")
    check_page(page)


def test_redoc_shows_every_operation_with_no_outside_request(server: ServerProcess,
                                                              open_page: Callable[[str], Page]):
    page = open_page(f"{server.url}/redoc")
    ops = operations(server)
    expect(page.locator("[data-section-id^='operation/']")).to_have_count(len(ops), timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text("MemOS")
    check_page(page)


def test_check_page_fails_on_a_console_error_an_outside_request_or_an_inline_script(
        server: ServerProcess, open_page: Callable[[str], Page]):
    page = open_page(f"{server.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    page.evaluate("() => console.error('boom from the page')")
    with pytest.raises(AssertionError, match="console errors"):
        check_page(page)
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.injected = true'; document.body.appendChild(s); }""")
    assert page.evaluate("() => window.injected === true") is False  # the policy refuses it ...
    with pytest.raises(AssertionError, match=r"console errors[\s\S]*Content Security Policy"):
        check_page(page, expected_errors=["boom from the page"])  # ... and the refusal is reported
    page.evaluate("() => { const i = new Image(); i.src = 'https://cdn.example.com/pixel.png'; }")
    with pytest.raises(AssertionError, match=r"requests to another host[\s\S]*cdn\.example\.com"):
        check_page(page, expected_errors=["boom from the page", "Content Security Policy"])


def test_check_page_fails_on_a_serious_axe_violation(server: ServerProcess, open_page: Callable[[str], Page]):
    page = open_page(f"{server.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    page.evaluate("""() => document.querySelector('#swagger-ui').appendChild(document.createElement('button'))""")
    with pytest.raises(AssertionError, match=r"axe-core violations[\s\S]*button-name \(critical\)"):
        check_page(page)  # a button with no accessible name
