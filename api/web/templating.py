"""The Jinja2 environment of the UI's templates (api/web/templates/), autoescaping, and its filters."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from api.web.markdown import render_markdown

TEMPLATES = Path(__file__).resolve().parent / "templates"


def first_line(text: str | None, width: int = 80) -> str:
    """The text's first non-empty line, cut at `width` characters (a list link's text)."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def when(value: str | None) -> str:
    """An ISO 8601 time as `2026-12-02 14:03:05 UTC` (empty for none)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def data_json(value: Any) -> Markup:
    """JSON for a `<script type="application/json">` block: `<`, `>` and `&` escaped, so no text can end it."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(markdown=render_markdown, first_line=first_line, when=when, pretty_json=pretty_json,
                       percent=percent, data_json=data_json)
    return env
