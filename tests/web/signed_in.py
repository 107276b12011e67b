"""A browser page signed in to the web server as one of its agents, through the sign-in form."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from playwright.sync_api import Page

from tests.web.conftest import WebServer, sign_in


def signed_in(open_page: Callable[[str], Page], web: WebServer, agent: str) -> Page:
    page = open_page(f"{web.url}/ui/signin")
    sign_in(page, web.keys[agent])
    assert page.url.rstrip("/").endswith("/ui"), page.url
    return page


def marker(prefix: str) -> str:
    """A word no other test writes, so a shared server's cubes never confuse two tests."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def write(web: WebServer, agent: str, content: str, **fields) -> dict:
    """A memory written over the JSON API and stored (read-your-writes), as the API shows it."""
    with web.api(agent) as api:
        made = api.post("/v1/memories", params={"wait": "true"}, json={"content": content, **fields})
        assert made.status_code == 201, made.text
        return made.json()
