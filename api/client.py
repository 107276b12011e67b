"""A small HTTP client for the MemOS API, used by the CLI (and usable by scripts)."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    """An error answer from the server, or no answer at all (code `unreachable`)."""

    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class MemosClient:
    def __init__(self, url: str, agent: str, timeout: float = 120.0, api_key: str = "") -> None:
        self.url = url.rstrip("/")
        headers = {"X-Agent-Id": agent}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def __enter__(self) -> "MemosClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, json=json, params=clean)
        except httpx.TransportError as exc:
            raise ApiError("unreachable", f"cannot reach MemOS at {self.url} ({type(exc).__name__})") from exc
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json() if response.content else None
        else:
            body = response.content
        if response.status_code >= 400:
            error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
            raise ApiError(error.get("code", "error"), error.get("message", response.text[:200]), response.status_code)
        return response.status_code, body
