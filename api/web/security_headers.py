"""Browser security headers on the pages a person opens: /ui, /docs and /redoc; nothing else is touched.

A pure ASGI layer, not Starlette's BaseHTTPMiddleware: that one runs every request through an extra
task and memory stream, and the write path must not pay for pages it never serves. A request to
any other path (all of /v1) costs one prefix comparison and passes through unchanged.

The policy allows no inline script and no script from anywhere but this server. /redoc alone
relaxes styles: ReDoc's styled-components insert `<style>` elements at run time and its search
runs in a worker made from a blob: URL. Scripts there stay 'self' only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UI_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
REDOC_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                "worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                "form-action 'self'")
# Path prefix -> Content-Security-Policy. A prefix matches the path itself and anything below it.
POLICIES: Mapping[str, str] = {"/ui": UI_POLICY, "/docs": UI_POLICY, "/redoc": REDOC_POLICY}
COMMON = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
)


def policy_for(path: str, policies: Mapping[str, str] = POLICIES) -> str | None:
    """The CSP a path's responses carry, or None for a path this layer leaves alone."""
    for prefix, policy in policies.items():
        if path == prefix or path.startswith(prefix + "/"):
            return policy
    return None


def with_headers(headers: Iterable[tuple[bytes, bytes]], policy: str) -> list[tuple[bytes, bytes]]:
    """The response's headers with ours set; ours replace any the page set itself, so none is weaker."""
    ours = ((b"content-security-policy", policy.encode()), *COMMON)
    names = {name for name, _ in ours}
    return [(k, v) for k, v in headers if k.lower() not in names] + list(ours)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, policies: Mapping[str, str] = POLICIES) -> None:
        self.app, self.policies = app, dict(policies)
        self.first = tuple({prefix[:2] for prefix in self.policies})  # "/u", "/d", "/r": the cheap test first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        policy = policy_for(path, self.policies) if path.startswith(self.first) else None
        if policy is None:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_headers(message.get("headers", ()), policy)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
