"""The docs stay true to the code: every setting, route and command is documented as it is."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from api.app import create_app
from api.cli.main import app as cli_app
from configs import Settings
from configs.settings import DEFAULTS_FILE

DOCS = Path(__file__).resolve().parents[1] / "docs"


def table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_every_setting_is_documented_with_its_default():
    rows = table_rows((DOCS / "configuration.md").read_text())
    defaults = tomllib.loads(DEFAULTS_FILE.read_text())
    assert set(rows) == set(Settings.model_fields)
    for name, value in defaults.items():
        shown = rows[name][0].strip("`")
        assert shown == ("empty" if value == "" else str(value)), name


def test_every_route_is_documented(tmp_path):
    app = create_app(Settings(data_dir=tmp_path))
    documented = set(re.findall(r"^### `(GET|POST|PATCH|DELETE|PUT) ([^`?\[]+)", (DOCS / "api.md").read_text(), re.M))
    for route in app.routes:
        if not getattr(route, "path", "").startswith("/v1"):
            continue
        for method in route.methods - {"HEAD"}:
            assert (method, route.path) in documented, f"{method} {route.path} is missing from docs/api.md"


def test_every_command_is_documented_and_shows_an_example():
    cli_doc = (DOCS / "cli.md").read_text()
    runner = CliRunner()
    for command in cli_app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"`memos {name}" in cli_doc, name
        help_text = runner.invoke(cli_app, [name, "--help"]).output
        assert "Example" in help_text, name
