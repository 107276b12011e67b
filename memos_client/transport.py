"""What the sync and the async client share: the retry policy, reading an answer, shaping a request.

Only the waiting differs between the two (`time.sleep` or `asyncio.sleep`), so each client's loop
is a few lines around these functions.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import httpx
from pydantic import BaseModel

from memos_client.errors import ApiError, Unreachable, error_from

DEFAULT_URL = "http://127.0.0.1:8765"
REQUEST_ID = "X-Request-Id"


class Reply(NamedTuple):
    """A successful answer: its status and decoded body (JSON, bytes for anything else, None when empty)."""

    status: int
    body: Any


@dataclass(frozen=True)
class Retry:
    """Answers that mean "not now" are tried again: 503 (the server is starting or stopping) and 429.

    A `Retry-After` the answer carries is waited for exactly (up to `max_retry_after_s`; a longer
    one is not waited for, and the error is raised with it); without one the wait doubles from
    `backoff_s`, with jitter, up to `max_backoff_s`. Every try of a call carries the same
    X-Request-Id, so the server's log shows them as one request retried.
    """

    attempts: int = 4  # tries in all, the first included; 1: never retry
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0
    statuses: frozenset[int] = frozenset({429, 503})

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff_s < 0 or self.max_backoff_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("Retry needs attempts >= 1 and waits >= 0")

    def wait_before_retry(self, tries: int, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again after `tries` tries got `response`; None: do not retry."""
        if response.status_code not in self.statuses or tries >= self.attempts:
            return None
        after = retry_after(response.headers.get("retry-after"))
        if after is not None:
            return after if after <= self.max_retry_after_s else None
        step = min(self.max_backoff_s, self.backoff_s * 2 ** (tries - 1))
        return step * (0.5 + random.random() / 2)


def retry_after(value: str | None) -> float | None:
    """A Retry-After header in seconds from now (it may be a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def settings_from_env(url: str | None, api_key: str | None, agent: str | None) -> tuple[str, str, str | None]:
    """Arguments given win; else MEMOS_URL, MEMOS_API_KEY and MEMOS_AGENT, as the `memos` CLI reads them."""
    return (url or os.environ.get("MEMOS_URL") or DEFAULT_URL).rstrip("/"), \
        api_key if api_key is not None else os.environ.get("MEMOS_API_KEY", ""), \
        agent if agent is not None else os.environ.get("MEMOS_AGENT") or None


def base_headers(api_key: str, agent: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = dict(extra or {})
    if agent:
        headers["X-Agent-Id"] = agent  # honoured by the server only while its auth is off
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def new_request_id() -> str:
    return "sdk-" + secrets.token_hex(12)


def clean_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query parameters without the ones left unset (None); booleans as the server reads them."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def jsonable(value: Any) -> Any:
    """A request body value as JSON: models as the fields they were given, times in ISO 8601."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, datetime):
        # The server takes only zoned times (RFC 3339); a naive one means UTC, as it did before.
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def body_of(**fields: Any) -> dict[str, Any]:
    """A request body from keyword arguments, leaving out the ones not given (None)."""
    return {k: jsonable(v) for k, v in fields.items() if v is not None}


def decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            return response.json()
        except ValueError:
            return response.content
    return response.content


def error_of(response: httpx.Response, body: Any) -> ApiError:
    return error_from(response.status_code, body, request_id=response.headers.get(REQUEST_ID),
                      retry_after=retry_after(response.headers.get("retry-after")))


def finish(response: httpx.Response) -> Reply:
    """The reply, or the typed error an error answer stands for."""
    body = decode(response)
    if response.status_code >= 400:
        raise error_of(response, body)
    return Reply(response.status_code, body)


def unreachable(url: str, exc: httpx.TransportError) -> Unreachable:
    return Unreachable(f"cannot reach MemOS at {url} ({type(exc).__name__})")


class Lines:
    """Whole lines out of a byte stream cut anywhere (a JSON lines export as it arrives)."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        *whole, self._rest = (self._rest + chunk).split(b"\n")
        return [line for line in whole if line.strip()]

    def end(self) -> list[bytes]:
        rest, self._rest = self._rest, b""
        return [rest] if rest.strip() else []
