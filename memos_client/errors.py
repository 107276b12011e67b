"""The SDK's error tree: one class per error code the server answers with, under one base.

Every class carries `code` (stable, the server's `{"error": {"code"}}`), `message` and `status`
(the HTTP status; 0 when no answer came). An answer whose code the SDK does not know yet is
raised as the class of its status, keeping the code it came with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error answer from MemOS, or no usable answer at all."""

    code: str = "error"  # each class's own; an instance keeps the code the server sent
    status: int = 0

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 request_id: str | None = None, retry_after: float | None = None) -> None:
        self.code = code or type(self).code
        self.status = type(self).status if status is None else status
        super().__init__(f"{self.code}: {message}")
        self.message = message
        self.request_id = request_id  # the X-Request-Id of the answer: look it up in the server's log
        self.retry_after = retry_after  # seconds, when the answer said (429, 503)


class MalformedRequest(ApiError):
    """The body is not JSON, not a JSON object, or was sent without a JSON content type."""

    code, status = "malformed_request", 400


class BadRequest(ApiError):
    """The request is not one the server can read (a bad header or query)."""

    code, status = "bad_request", 400


class InvalidAgent(ApiError):
    """`X-Agent-Id` breaks the agent id pattern."""

    code, status = "invalid_agent", 400


class Unauthorized(ApiError):
    """Auth is on and the API key is missing, unknown or revoked."""

    code, status = "unauthorized", 401


class Forbidden(ApiError):
    """Your role on the cube is too weak for this (read but not write; not admin)."""

    code, status = "forbidden", 403


class CsrfRefused(Forbidden):
    """A web UI form sent without its page's CSRF token, or from another site (not an API answer)."""

    code, status = "csrf_refused", 403


class NotFound(ApiError):
    """The memory, job, cube or path does not exist, or you hold no role that lets you see it."""

    code, status = "not_found", 404


class MethodNotAllowed(ApiError):
    """The path exists but not with this method."""

    code, status = "method_not_allowed", 405


class Conflict(ApiError):
    """A stale `version`, a reindex already running, a private cube's deletion, and the like."""

    code, status = "conflict", 409


class TooLarge(ApiError):
    """The body, a memory's content or a batch is over the server's limit."""

    code, status = "too_large", 413


class UnsupportedMediaType(ApiError):
    """The body's content type is not one the endpoint takes."""

    code, status = "unsupported_media_type", 415


class Invalid(ApiError):
    """A field breaks a rule (type, length, enum, pattern, unknown field)."""

    code, status = "invalid", 422


class InvalidParams(Invalid):
    """Skill render parameters break the skill's JSON Schema."""

    code, status = "invalid_params", 422


class UnknownFormat(Invalid):
    """An import file is in no format the server reads, or a format name is not one it knows."""

    code, status = "unknown_format", 415


class InvalidBundle(Invalid):
    """An import file breaks the interchange format; the message names the line and the field."""

    code, status = "invalid_bundle", 422


class UnsupportedVersion(Invalid):
    """An import file was written by a newer major version of the interchange format."""

    code, status = "unsupported_version", 422


class NotAnImage(UnsupportedMediaType):
    """An image upload whose bytes are not a JPEG, PNG, GIF or WebP image."""

    code, status = "not_an_image", 415


class ImageUnreadable(Invalid):
    """An image upload that is truncated or corrupt."""

    code, status = "image_unreadable", 422


class ImageTooLarge(TooLarge):
    """An image over the server's byte limit, or with more pixels than it decodes (a decompression bomb)."""

    code, status = "image_too_large", 413


class RateLimited(ApiError):
    """Too many requests; retried on its own, honouring Retry-After, until the retries run out."""

    code, status = "rate_limited", 429


class BacklogFull(RateLimited):
    """The server's intake backlog is at its bound (nothing was written); retried after its Retry-After."""

    code, status = "backlog_full", 429


class NotAHub(Conflict):
    """The server asked is not a team hub (or not for this team)."""

    code, status = "not_a_hub", 409


class HubUnreachable(Conflict):
    """The team hub could not be reached from this server."""

    code, status = "hub_unreachable", 409


class HubRefused(Conflict):
    """The team hub refused this server's request."""

    code, status = "hub_refused", 409


class MembershipRevoked(Forbidden):
    """This server's team membership was removed or rejected."""

    code, status = "membership_revoked", 403


class SignatureInvalid(Invalid):
    """A signed skill bundle or page does not verify: changed in transit, or damaged."""

    code, status = "signature_invalid", 422


class UnknownSigner(Invalid):
    """A bundle was signed by a server this team does not know."""

    code, status = "unknown_signer", 422


class WriteFailed(ApiError):
    """The pipeline could not store an accepted write (a server fault; its job says why)."""

    code, status = "write_failed", 500


class StoreError(ApiError):
    """A storage engine failed on the server."""

    code, status = "store_error", 500


class Internal(ApiError):
    """The server failed to handle the request; its log has the request id."""

    code, status = "internal", 500


class StorageFull(ApiError):
    """The server's disk is full: nothing was written; the same request succeeds once space is freed."""

    code, status = "insufficient_storage", 507


class Unavailable(ApiError):
    """The server is starting or stopping; retried on its own until the retries run out."""

    code, status = "unavailable", 503


class Unreachable(ApiError):
    """No answer: the server could not be reached, or the connection broke."""

    code, status = "unreachable", 0


class UnexpectedResponse(ApiError):
    """An answer the SDK cannot read: not the documented shape (a server of another version?)."""

    code, status = "unexpected_response", 0


ERRORS: tuple[type[ApiError], ...] = (
    MalformedRequest, BadRequest, InvalidAgent, Unauthorized, Forbidden, CsrfRefused, NotFound, MethodNotAllowed,
    Conflict, TooLarge, UnsupportedMediaType, Invalid, InvalidParams, UnknownFormat, InvalidBundle,
    UnsupportedVersion, NotAnImage, ImageUnreadable, ImageTooLarge, RateLimited, BacklogFull, WriteFailed, StoreError, Internal, StorageFull, Unavailable,
    Unreachable, UnexpectedResponse, NotAHub, HubUnreachable, HubRefused, MembershipRevoked, SignatureInvalid,
    UnknownSigner,
)
BY_CODE: Mapping[str, type[ApiError]] = {cls.code: cls for cls in ERRORS}
# For a code this SDK does not know: the class that stands for its status.
BY_STATUS: Mapping[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed, 409: Conflict,
    413: TooLarge, 415: UnsupportedMediaType, 422: Invalid, 429: RateLimited, 500: Internal, 503: Unavailable,
    507: StorageFull,
}


def error_from(status: int, body: Any, *, request_id: str | None = None, retry_after: float | None = None) -> ApiError:
    """The typed error for an error answer: by its code, else by its status."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), str) else None
    message = error.get("message") if isinstance(error, dict) and isinstance(error.get("message"), str) else None
    if message is None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        message = text[:200] or f"HTTP {status}"
    cls = BY_CODE.get(code or "") or BY_STATUS.get(status, ApiError)
    return cls(message, code=code, status=status, request_id=request_id, retry_after=retry_after)
