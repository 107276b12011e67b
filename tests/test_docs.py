"""The docs stay true to the code: every setting, route and command is documented as it is."""

from __future__ import annotations

import json
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
        as_toml = (str(value).lower() if isinstance(value, bool) else json.dumps(value) if isinstance(value, list)
                   else str(value))
        assert shown == ("empty" if value == "" else as_toml), name


def test_every_route_is_documented(tmp_path):
    paths = create_app(Settings(data_dir=tmp_path)).openapi()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert len(routes) >= 10
    headings = re.findall(r"^### `(GET|POST|PATCH|DELETE|PUT) ([^`?\[]+)", (DOCS / "api.md").read_text(), re.M)
    documented = {(m, re.sub(r"\{[^}]+\}", "{}", p.strip())) for m, p in headings}
    for method, path in routes:
        assert (method, re.sub(r"\{[^}]+\}", "{}", path)) in documented, f"{method} {path} is missing from docs/api.md"


def all_commands():
    for command in cli_app.registered_commands:
        yield [command.name or command.callback.__name__]
    for group in cli_app.registered_groups:
        for command in group.typer_instance.registered_commands:
            yield [group.name, command.name or command.callback.__name__]


def test_every_command_is_documented_and_shows_an_example():
    cli_doc = (DOCS / "cli.md").read_text()
    runner = CliRunner()
    for words in all_commands():
        assert f"`memos {' '.join(words)}" in cli_doc, words
        help_text = runner.invoke(cli_app, [*words, "--help"]).output
        assert "Example" in help_text, words
