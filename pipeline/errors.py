"""The domain error tree: every error a client can cause has a stable code and an HTTP status."""

from __future__ import annotations

from collections.abc import Sequence


class MemosError(Exception):
    """Base of every MemOS error; `code` is stable for clients, `status` is its HTTP status."""

    code = "error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(MemosError):
    """The request is well-formed but a value breaks a rule."""

    code = "invalid"
    status = 422


class InvalidParams(Invalid):
    """Parameters given to a skill do not match its JSON Schema; `problems` lists each one."""

    code = "invalid_params"
    status = 422

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class MalformedRequest(MemosError):
    """The request is not well formed: its body is not UTF-8 JSON of the right shape, or it names its caller twice."""

    code = "malformed_request"
    status = 400


class InvalidAgent(MemosError):
    """The caller's agent id is not a valid agent id."""

    code = "invalid_agent"
    status = 400


class Unauthorized(MemosError):
    """No valid API key was presented while authentication is on."""

    code = "unauthorized"
    status = 401


class Forbidden(MemosError):
    """The caller is known and may know the thing exists, but lacks the role this needs."""

    code = "forbidden"
    status = 403


class CsrfRefused(Forbidden):
    """A web UI form sent without its session's CSRF token, or from another site (api/web/page.py)."""

    code = "csrf_refused"
    status = 403


class NotFound(MemosError):
    """The named thing does not exist, or the caller may not know that it does."""

    code = "not_found"
    status = 404


class Conflict(MemosError):
    """The change conflicts with the current state (for example a concurrent update)."""

    code = "conflict"
    status = 409


class TooLarge(MemosError):
    """The request body or one of its values is over a configured limit."""

    code = "too_large"
    status = 413


class Unavailable(MemosError):
    """The server is starting up or shutting down and cannot take this request now."""

    code = "unavailable"
    status = 503


class StorageFull(MemosError):
    """The data directory's disk is full: nothing was written; the same request succeeds once space is freed."""

    code = "insufficient_storage"
    status = 507


class BacklogFull(MemosError):
    """The intake backlog is at its bound: nothing was written; the same write succeeds once it drains."""

    code = "backlog_full"
    status = 429

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s  # sent as the answer's Retry-After


class WriteFailed(MemosError):
    """The pipeline could not store an accepted write (a server fault; the job records it)."""

    code = "write_failed"
    status = 500


class StoreError(MemosError):
    """A storage engine failed; raised at the storage boundary with the engine's error as cause."""

    code = "store_error"
    status = 500


class UnknownFormat(Invalid):
    """An import file is in no format this server reads, or a format name is not one it knows."""

    code = "unknown_format"
    status = 415


class InvalidBundle(Invalid):
    """An import file breaks the interchange format; the message names the line (or file) and the field."""

    code = "invalid_bundle"
    status = 422

    def __init__(self, message: str, line: int | str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.line, self.field = line, field


class UnsupportedVersion(Invalid):
    """An import file was written by a newer major version of the interchange format."""

    code = "unsupported_version"
    status = 422


class NotAnImage(Invalid):
    """An image upload whose bytes are not an image of a type the server takes (JPEG, PNG, GIF, WebP)."""

    code = "not_an_image"
    status = 415


class ImageUnreadable(Invalid):
    """An image upload that is truncated or corrupt: its type is known but it does not decode."""

    code = "image_unreadable"
    status = 422


class ImageTooLarge(TooLarge):
    """An image over `max_image_bytes`, or whose dimensions pass `max_image_pixels` (a decompression bomb)."""

    code = "image_too_large"
    status = 413


class NotAHub(Conflict):
    """A team operation of a hub was asked of a server that is not one (setting `hub`, `memos serve --hub`)."""

    code = "not_a_hub"
    status = 409


class HubUnreachable(Conflict):
    """The team's hub did not answer, or answered something that is not the hub API; nothing was changed here."""

    code = "hub_unreachable"
    status = 409


class HubRefused(Conflict):
    """The team's hub refused the request; the message carries the hub's own error."""

    code = "hub_refused"
    status = 409


class MembershipRevoked(Forbidden):
    """The hub no longer accepts this server's member credential (removed or rejected)."""

    code = "membership_revoked"
    status = 403


class SignatureInvalid(Invalid):
    """A skill bundle's signature does not verify against its publisher's key: it was changed after signing."""

    code = "signature_invalid"
    status = 422


class UnknownSigner(Invalid):
    """A skill bundle is signed by a key that is not a member of the team."""

    code = "unknown_signer"
    status = 422


ALL_ERRORS: tuple[type[MemosError], ...] = (
    Invalid,
    InvalidParams,
    MalformedRequest,
    InvalidAgent,
    Unauthorized,
    Forbidden,
    CsrfRefused,
    NotFound,
    Conflict,
    TooLarge,
    Unavailable,
    StorageFull,
    BacklogFull,
    WriteFailed,
    StoreError,
    UnknownFormat,
    InvalidBundle,
    UnsupportedVersion,
    NotAnImage,
    ImageUnreadable,
    ImageTooLarge,
    NotAHub,
    HubUnreachable,
    HubRefused,
    MembershipRevoked,
    SignatureInvalid,
    UnknownSigner,
)
