"""The MemOS Python SDK: typed sync and async clients over the HTTP API.

    from memos_client import Memos, AsyncMemos

Models are the server's own (memos_client.models re-exports api/schemas.py), errors one class
per error code (memos_client.errors). See docs/sdk.md.

The two clients are loaded on first use: they bring the server's models (api/schemas.py), which
take a while to import, and code that only needs the errors or `Retry` (the CLI's offline
commands) should not wait for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memos_client.errors import (
    ApiError,
    BacklogFull,
    HubRefused,
    HubUnreachable,
    MembershipRevoked,
    NotAHub,
    SignatureInvalid,
    UnknownSigner,
    BadRequest,
    Conflict,
    CsrfRefused,
    Forbidden,
    Internal,
    ImageTooLarge,
    ImageUnreadable,
    Invalid,
    InvalidAgent,
    InvalidBundle,
    InvalidParams,
    MalformedRequest,
    MethodNotAllowed,
    NotAnImage,
    NotFound,
    RateLimited,
    StorageFull,
    StoreError,
    TooLarge,
    Unauthorized,
    Unavailable,
    UnexpectedResponse,
    UnknownFormat,
    Unreachable,
    UnsupportedMediaType,
    UnsupportedVersion,
    WriteFailed,
)
from memos_client.transport import Reply, Retry

if TYPE_CHECKING:
    from memos_client.async_client import AsyncMemos
    from memos_client.client import Memos

__all__ = [
    "ApiError", "AsyncMemos", "BacklogFull", "HubRefused", "HubUnreachable", "MembershipRevoked", "NotAHub",
    "SignatureInvalid", "UnknownSigner", "BadRequest", "Conflict", "CsrfRefused", "Forbidden", "ImageTooLarge", "ImageUnreadable", "Internal", "Invalid",
    "InvalidAgent", "InvalidBundle", "InvalidParams", "MalformedRequest", "Memos", "MethodNotAllowed", "NotAnImage", "NotFound",
    "RateLimited", "Reply", "Retry", "StorageFull", "StoreError", "TooLarge", "Unauthorized", "Unavailable",
    "UnexpectedResponse", "UnknownFormat", "Unreachable", "UnsupportedMediaType", "UnsupportedVersion", "WriteFailed",
]


def __getattr__(name: str) -> Any:
    if name == "Memos":
        from memos_client.client import Memos

        return Memos
    if name == "AsyncMemos":
        from memos_client.async_client import AsyncMemos

        return AsyncMemos
    raise AttributeError(f"module 'memos_client' has no attribute {name!r}")
