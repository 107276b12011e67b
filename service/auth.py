"""Who is calling: a Bearer API key when auth is on, else the X-Agent-Id header."""

from __future__ import annotations

import hashlib
import threading

from pipeline.access import Caller, auth_required, is_loopback
from pipeline.errors import Unauthorized
from pipeline.ids import check_agent_id
from storage.api_keys import ApiKeys


class Authenticator:
    def __init__(self, keys: ApiKeys, host: str) -> None:
        self._keys = keys
        self._host = host
        self._verified: dict[str, Caller] = {}  # sha256(key) -> caller; argon2 runs once per key
        self._lock = threading.Lock()

    def enabled(self) -> bool:
        # "Keys exist" means: a key was created and `memos auth off` has not been run since; revoking
        # the last key leaves auth on (docs/security.md).
        return auth_required(self._host, self._keys.required())

    def describe(self) -> str:
        """One line for the start-up log: whether auth is on, and why."""
        if not is_loopback(self._host):
            return f"on (the server binds {self._host}, beyond loopback)"
        if self._keys.required():
            return "on (API keys have been created; requests need 'Authorization: Bearer <key>')"
        return "off (loopback and no API keys: callers are named by X-Agent-Id; `memos keys create` turns it on)"

    def caller(self, authorization: str | None, agent_header: str | None) -> Caller:
        """The calling agent; a key seen for the first time is checked with argon2 (tens of ms)."""
        known = self.known_caller(authorization, agent_header)
        return known if known is not None else self._verify_new(_bearer_key(authorization))

    def known_caller(self, authorization: str | None, agent_header: str | None) -> Caller | None:
        """The caller when no password hash must be checked (auth off, or a key verified before); else None."""
        if not self.enabled():
            return Caller(check_agent_id("default" if agent_header is None else agent_header))
        digest = _digest(_bearer_key(authorization))
        with self._lock:
            known = self._verified.get(digest)
        if known is None:
            return None
        if self._keys.is_active(known.key_id or ""):  # a revoke takes effect on the next request
            return known
        with self._lock:
            self._verified.pop(digest, None)
        raise Unauthorized("this API key has been revoked")

    def _verify_new(self, key: str) -> Caller:
        record = self._keys.verify(key)
        if record is None:
            raise Unauthorized("this API key is not valid")
        caller = Caller(record.agent, record.admin, record.id)
        with self._lock:
            self._verified[_digest(key)] = caller
        return caller


def _bearer_key(authorization: str | None) -> str:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    return key.strip()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
