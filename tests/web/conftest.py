"""The browser harness: Debian's chromium driven by Playwright, real servers, and the checks every page passes.

- `browser`: one headless chromium for the session (/usr/bin/chromium; `make test` installs it
  through `make system-deps`; nothing is ever downloaded).
- `web_server`: a real server with API keys (auth on) for the UI tests; `server` (tests/conftest.py)
  is the one without keys.
- `open_page(url)`: a fresh browser context (its own cookies) and page whose console and requests
  are recorded from the first moment; `check_page(page)` then asserts what holds on every page:
  no console error, no request to any host but the server's, and no serious or critical axe-core
  violation (axe from the vendored copy, loaded from the server like any script of the page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, sync_playwright

from api.server_process import ServerProcess, start_server
from storage.api_keys import ApiKeys
from storage.paths import DataPaths

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE_URL = "/ui/static/vendor/axe-core/axe.min.js"
SERIOUS = ("serious", "critical")
# axe's `region` rule ("content outside landmarks") is only ever moderate, so it never changes the
# verdict, and it is the slowest rule on a large page (half of axe's time on /redoc).
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"region": {"enabled": False}}}
WEB_AGENTS = ("alice", "bob", "carol")
ADMIN = "ops"


@dataclass
class WebServer:
    server: ServerProcess
    keys: dict[str, str]  # agent -> API key; ADMIN holds an admin key

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, agent: str) -> httpx.Client:
        """The JSON API as that agent, with its key."""
        return httpx.Client(base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {self.keys[agent]}"})


@dataclass
class PageWatch:
    """Everything a page did that check_page judges, recorded from the page's creation."""

    origin: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def on_page_error(self, error: Exception) -> None:
        self.console_errors.append(f"uncaught: {error}")

    def foreign_requests(self) -> list[str]:
        """Requests for anything not served by the server itself (inline data: URLs and its own blobs are)."""
        return [url for url in self.requests if not is_local(url, self.origin)]


def is_local(url: str, origin: str) -> bool:
    if url.startswith(("data:", "about:")):
        return True
    if url.startswith("blob:"):
        url = url[len("blob:"):]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == origin


_WATCHES: dict[Page, PageWatch] = {}


def watch(page: Page, origin: str) -> PageWatch:
    """Start recording a page's requests and console errors (before it loads anything)."""
    record = PageWatch(origin.rstrip("/"))
    page.on("request", record.on_request)
    page.on("console", record.on_console)
    page.on("pageerror", record.on_page_error)
    _WATCHES[page] = record
    return record


def axe_violations(page: Page, origin: str) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line each."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=origin + AXE_URL)  # a file of the server's: the page's CSP allows it
    found = page.evaluate("""async (options) => {
        const result = await window.axe.run(document, options);
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
    }""", AXE_OPTIONS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in found if v["impact"] in SERIOUS]


def check_page(page: Page, expected_errors: Iterable[str] = ()) -> None:
    """Assert: no console error (but those containing one of `expected_errors`, which a test provoked on
    purpose, e.g. "409" for a conflicting edit), no request to another host, no serious or critical
    axe-core violation. Pages opened with open_page only."""
    record = _WATCHES[page]
    page.wait_for_load_state("networkidle")
    expected = tuple(expected_errors)
    errors = [e for e in record.console_errors if not any(x in e for x in expected)]
    assert errors == [], f"console errors on {page.url}"
    assert record.foreign_requests() == [], f"requests to another host from {page.url}"
    assert axe_violations(page, record.origin) == [], f"axe-core violations on {page.url}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run `make system-deps` (apt-get install chromium)"
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[str], Page]]:
    """open_page(url) -> a watched page at url, in its own context (cookies); all closed after the test."""
    contexts: list[BrowserContext] = []

    def open_(url: str) -> Page:
        parts = urlsplit(url)
        context = browser.new_context(base_url=f"{parts.scheme}://{parts.netloc}")
        contexts.append(context)
        page = context.new_page()
        watch(page, f"{parts.scheme}://{parts.netloc}")
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        for page in context.pages:
            _WATCHES.pop(page, None)
        context.close()


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """A real server with keys for alice, bob, carol and an admin `ops`: the UI with sign-in."""
    data = tmp_path_factory.mktemp("web") / "data"
    paths = DataPaths(data)
    paths.ensure()
    store = ApiKeys(paths.registry_db)
    keys = {agent: store.create(agent, admin=False)[1] for agent in WEB_AGENTS}
    keys[ADMIN] = store.create(ADMIN, admin=True)[1]
    store.close()
    proc = start_server(data)
    try:
        yield WebServer(proc, keys)
    finally:
        proc.stop()


def sign_in(page: Page, key: str) -> None:
    """Sign in on the page's server through the sign-in form (its accessible names are a contract)."""
    page.goto("/ui")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
