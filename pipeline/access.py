"""Who may do what: callers, cube roles, and the rule that decides each access (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pipeline.errors import Forbidden, Invalid, NotFound


class Role(IntEnum):
    """Roles on a cube; each includes the ones below it."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> "Role":
        try:
            return cls[name.upper()]
        except KeyError:
            raise Invalid(f"role must be one of read, write, admin; got {name[:20]!r}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Caller:
    """The authenticated agent behind a request; `admin` is an operator key."""

    agent: str
    admin: bool = False
    key_id: str | None = None


def check_access(cube_id: str, role: Role | None, need: Role) -> None:
    """No role at all reads as "no such cube" (a 403 would confirm it exists); a weaker role is 403."""
    if role is None:
        raise NotFound(f"cube {cube_id} does not exist")
    if role < need:
        raise Forbidden(f"cube {cube_id} needs the {need.label} role; you have {role.label}")


def auth_required(host: str, keys_exist: bool) -> bool:
    """Auth is on whenever keys exist or the server listens beyond loopback."""
    return keys_exist or not is_loopback(host)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
