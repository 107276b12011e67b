"""The two secrets a team hands out: the join token (one per team) and a member's credential.

A join token reads `mjt.<team in base64url>.<secret>`, so the hub finds the team without trying
every hash; a credential reads `mcr_<member id>_<secret>`. Only hashes of the secrets are stored.
"""

from __future__ import annotations

import re
import secrets

from pipeline.errors import Invalid, Unauthorized
from pipeline.team.signing import b64, unb64

TEAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TEAM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_TOKEN = re.compile(r"mjt\.([A-Za-z0-9_-]{1,100})\.([A-Za-z0-9_-]{43})")
_CREDENTIAL = re.compile(r"mcr_(srv-[0-9a-f]{20})_([A-Za-z0-9_-]{43})")


def check_team(name: str) -> str:
    if not isinstance(name, str) or not TEAM_NAME.fullmatch(name):
        raise Invalid(f"team name {str(name)[:70]!r} must match {TEAM_NAME.pattern}")
    return name


def new_join_token(team: str) -> tuple[str, str]:
    """(token, secret): the token is shown once; the secret is what gets hashed."""
    secret = secrets.token_urlsafe(32)
    return f"mjt.{b64(team.encode())}.{secret}", secret


def parse_join_token(token: str) -> tuple[str, str]:
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        raise Unauthorized("this join token is not valid")
    try:
        team = unb64(match.group(1)).decode()
    except (Invalid, UnicodeDecodeError):
        raise Unauthorized("this join token is not valid") from None
    return team, match.group(2)


def new_credential(member: str) -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return f"mcr_{member}_{secret}", secret


def parse_credential(authorization: str | None) -> tuple[str, str]:
    """(member, secret) from `Authorization: Bearer mcr_...`; Unauthorized when absent or malformed."""
    scheme, _, value = (authorization or "").partition(" ")
    match = _CREDENTIAL.fullmatch(value.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise Unauthorized("a member credential is required: send 'Authorization: Bearer mcr_...'")
    return match.group(1), match.group(2)
