"""HTTP from a member to its hub: each answer checked, each failure turned into one of our errors.

The hub's 401 means the credential is no longer accepted (the member was removed or rejected):
that is `MembershipRevoked` here, never the caller's own 401. Other hub errors keep the hub's
code and message inside `HubRefused`; a hub that does not answer is `HubUnreachable`.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from pipeline.errors import HubRefused, HubUnreachable, Invalid, MembershipRevoked

TIMEOUT = httpx.Timeout(60.0, connect=5.0)


def check_hub_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) > 2000 or any(c.isspace() for c in url):
        raise Invalid(f"hub URL {url[:80]!r} must be an http:// or https:// URL")
    return url


class HubClient:
    def __init__(self, url: str, credential: str | None = None, verify: bool | str = True) -> None:
        self._url = check_hub_url(url)
        self._headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        self._verify = verify

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
             member: bool = True) -> dict[str, Any]:
        """The hub's JSON answer; `member`: the request carries the credential, so a 401 means revoked."""
        try:
            with httpx.Client(base_url=self._url, timeout=TIMEOUT, verify=self._verify, trust_env=False) as http:
                response = http.request(method, path, content=orjson.dumps(body) if body is not None else None,
                                        params=params, headers={**self._headers, "Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise HubUnreachable(f"the hub at {self._url} did not answer: {type(exc).__name__}: {exc}") from None
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise HubUnreachable(f"the hub at {self._url} answered {response.status_code} without JSON") from None
        if response.status_code == 401 and member:
            raise MembershipRevoked(f"the hub at {self._url} no longer accepts this server: "
                                    f"{_message(data)}")
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            code = error.get("code") if isinstance(error, dict) else "error"
            raise HubRefused(f"the hub refused: {code}: {_message(data)}")
        if not isinstance(data, dict):
            raise HubUnreachable(f"the hub at {self._url} answered something that is not a JSON object")
        return data


def _message(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message", ""))[:300]
    return ""
