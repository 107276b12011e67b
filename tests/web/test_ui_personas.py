"""The World page shows the cube's personas, with what each states and which is active (issue 17)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.web.conftest import WebServer, check_page
from tests.web.signed_in import signed_in


def test_the_world_page_lists_personas_with_their_statements(web_server: WebServer, open_page: Callable[[str], Page]):
    with web_server.api("carol") as api:
        made = api.put("/v1/personas/orla", json={"name": "Orla", "role": "travel planner",
                                                  "preferences": ["window seats"]})
        assert made.status_code == 200, made.text
    page = signed_in(open_page, web_server, "carol")
    page.get_by_role("link", name="World", exact=True).click()
    personas = page.get_by_role("region", name="Personas")
    row = personas.get_by_role("row").filter(has_text="Orla")
    expect(row).to_contain_text("Orla works as a travel planner. Orla prefers window seats.")
    expect(row).to_contain_text("active")
    check_page(page)
