"""Who is calling: a Bearer API key when auth is on, else the X-Agent-Id header."""

from __future__ import annotations

import hashlib
import threading

from pipeline.access import Caller, auth_required
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
        return auth_required(self._host, self._keys.any_active())

    def caller(self, authorization: str | None, agent_header: str | None) -> Caller:
        if not self.enabled():
            return Caller(check_agent_id("default" if agent_header is None else agent_header))
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
        return self._verify(key.strip())

    def known_caller(self, authorization: str | None, agent_header: str | None) -> Caller | None:
        """The caller when no password hash must be checked (auth off, or a key verified before); else None."""
        if not self.enabled():
            return self.caller(authorization, agent_header)
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
        with self._lock:
            known = self._verified.get(hashlib.sha256(key.strip().encode()).hexdigest())
        return self._verify(key.strip()) if known is not None else None

    def _verify(self, key: str) -> Caller:
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            known = self._verified.get(digest)
        if known is not None:
            if self._keys.is_active(known.key_id or ""):  # a revoke takes effect on the next request
                return known
            with self._lock:
                self._verified.pop(digest, None)
            raise Unauthorized("this API key has been revoked")
        record = self._keys.verify(key)
        if record is None:
            raise Unauthorized("this API key is not valid")
        caller = Caller(record.agent, record.admin, record.id)
        with self._lock:
            self._verified[digest] = caller
        return caller
