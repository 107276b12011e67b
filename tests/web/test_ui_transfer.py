"""Import and export in a real browser, through the interchange service: an uploaded file shows its
progress until imported, and its memories then appear; a bad file is refused naming its line and
writes nothing; an export downloads the cube."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import WebServer, check_page
from tests.web.signed_in import marker, signed_in, write


def rows_file(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_an_uploaded_file_shows_progress_and_its_memories_appear(
        web_server: WebServer, open_page: Callable[[str], Page], tmp_path: Path):
    run = marker("imported ")
    key = run.replace(" ", "-")  # an id: no spaces
    rows = [{"id": f"{key}-{i}", "content": f"{run} runbook line {i}", "tags": ["imported"]} for i in range(5)]
    upload = rows_file(tmp_path / "runbook.jsonl", rows)
    page = signed_in(open_page, web_server, "carol")
    page.get_by_role("link", name="Import", exact=True).click()
    check_page(page)
    page.get_by_label("File", exact=True).set_input_files(upload)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of runbook.jsonl")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("max", "5")
    expect(page.get_by_role("heading", name="Done")).to_be_visible(timeout=60_000)
    expect(bar).to_have_attribute("value", "5")
    expect(page.get_by_role("status").filter(has_text="added")).to_contain_text("5 added, 0 updated, 0 skipped, 0 errors")
    check_page(page)
    page.get_by_role("link", name="See the memories of agent-carol").click()
    for row in rows:
        expect(page.get_by_role("link", name=row["content"])).to_be_visible()
    with web_server.api("carol") as api:
        assert api.get(f"/v1/memories/{rows[0]['id']}").json()["tags"] == ["imported"]


def test_a_bad_file_is_refused_naming_its_line_and_writes_nothing(
        web_server: WebServer, open_page: Callable[[str], Page], tmp_path: Path):
    run = marker("refused ")
    key = run.replace(" ", "-")
    upload = rows_file(tmp_path / "broken.jsonl", [{"id": f"{key}-0", "content": f"{run} fine"},
                                                    {"id": f"{key}-1", "content": ""}])
    page = signed_in(open_page, web_server, "carol")
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File", exact=True).set_input_files(upload)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("broken.jsonl")
    expect(page.get_by_role("alert")).to_contain_text("line 2")
    check_page(page)
    with web_server.api("carol") as api:
        assert api.get(f"/v1/memories/{key}-0").status_code == 404


def test_an_export_downloads_the_cube(web_server: WebServer, open_page: Callable[[str], Page], tmp_path: Path):
    text = marker("exported ")
    memory = write(web_server, "carol", text)
    page = signed_in(open_page, web_server, "carol")
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("Cube", exact=True).select_option("agent-carol")
    page.get_by_label("Format", exact=True).select_option("memos")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download export").click()
    assert download.value.suggested_filename == "agent-carol.memos.jsonl"
    saved = tmp_path / "export.jsonl"
    download.value.save_as(saved)
    objects = [json.loads(line) for line in saved.read_text().splitlines()]
    assert objects[0]["object"] == "header" and [c["id"] for c in objects[0]["cubes"]] == ["agent-carol"]
    memories = {o["id"]: o for o in objects if o["object"] == "memory"}
    assert memories[memory["id"]]["content"] == text
