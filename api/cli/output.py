"""Shared CLI plumbing: settings from the environment, the client (the SDK's `Memos`), JSON or human output, errors."""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from configs import Settings
from memos_client import ApiError
from pipeline.errors import Invalid, MemosError

if TYPE_CHECKING:
    from memos_client import Memos

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout.")
AgentOpt = typer.Option(None, "--agent", help="Act as this agent while auth is off (MEMOS_AGENT).")
CubeOpt = typer.Option(None, "--cube", help="The cube (default: your own).")


def settings(**overrides: Any) -> Settings:
    """The settings, or Invalid naming the first bad one (`errors_as_exit` prints it as one line)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise Invalid(setting_problem(exc)) from None
    except SettingsError as exc:  # a list setting's variable that is not JSON: pydantic-settings fails before validating
        raise Invalid(f"{exc}; a list setting takes JSON, e.g. MEMOS_WORLD_SKIP_ROLES='[\"assistant\"]'") from None
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"the file named by MEMOS_CONFIG is not valid TOML: {exc}") from None


def setting_problem(exc: ValidationError) -> str:
    """`MEMOS_N_SHARDS='abc': Input should be a valid integer, ...`: the setting by its variable's name."""
    first = exc.errors()[0]
    name = str(first["loc"][0]) if first.get("loc") else "settings"
    shown = f"MEMOS_{name.upper()}={str(first['input'])[:80]!r}" if "input" in first and first.get("loc") else name
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"setting {shown}: {first['msg']}{more}"


@contextmanager
def client(agent: str | None = None) -> Iterator[Memos]:
    """The SDK's client, aimed at MEMOS_URL as MEMOS_AGENT (or `agent`), with MEMOS_API_KEY if set."""
    from memos_client import Memos  # loads the server's models: only commands that call the server pay for it

    s = settings()
    with Memos(s.url, agent=agent or s.agent, api_key=s.api_key, timeout=120.0) as c:
        yield c


def plain(value: Any) -> Any:
    """A model the SDK returned as the JSON the server sent: its fields in order, only those it sent."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def emit(value: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    value = plain(value)
    if as_json:
        typer.echo(json.dumps(value, ensure_ascii=False))
    else:
        typer.echo(human(value))


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """One clear line on stderr and exit code 1 instead of a traceback."""
    try:
        yield
    except ApiError as exc:
        fail(f"{exc.code}: {exc.message}")
    except MemosError as exc:
        fail(f"{exc.code}: {exc.message}")
    except OSError as exc:
        fail(str(exc))


def short(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
