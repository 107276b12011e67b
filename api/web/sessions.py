"""The web UI's sessions: a random id in an HttpOnly, SameSite=Strict cookie; everything else stays here.

A session holds its CSRF token, and once signed in the `Authorization` value it was signed in with,
which every page hands to `Authenticator.known_caller` exactly as the API does with a request's
header (so a revoked key ends the session on the next page). Sessions live in this process only:
a restart signs everyone out. Signing in issues a new id (no session fixation); signing out drops it.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COOKIE = "memos_session"
COOKIE_PATH = "/ui"
MAX_SESSIONS = 10_000  # past this the oldest go first; a session is a few hundred bytes


@dataclass
class Session:
    id: str
    csrf: str
    expires_at: float
    authorization: str | None = None  # "Bearer <key>" once signed in; never sent back to the browser
    agent: str | None = None  # whose view to show while auth is off
    flashes: list[str] = field(default_factory=list)  # messages for the next page shown
    new_key: dict[str, Any] | None = None  # an API key just created, shown once on the next Settings page
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)  # uploads this session started, by id
    fresh: bool = True  # its cookie has not been sent yet

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())

    def take_flashes(self) -> list[str]:
        out, self.flashes = self.flashes, []
        return out


class SessionBook:
    def __init__(self, ttl_s: float, max_sessions: int = MAX_SESSIONS, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s, self._max, self._clock = ttl_s, max_sessions, clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id; an expired one is dropped."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires_at <= self._clock():
                del self._sessions[session_id]
                return None
            return session

    def new(self, *, authorization: str | None = None, agent: str | None = None) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._clock() + self.ttl_s,
                          authorization=authorization, agent=agent)
        with self._lock:
            self._sessions[session.id] = session
            # Oldest first, and every session lives equally long: expired ones sit at the front.
            while self._sessions and next(iter(self._sessions.values())).expires_at <= self._clock():
                self._sessions.popitem(last=False)
            while len(self._sessions) > self._max:
                self._sessions.popitem(last=False)
        return session

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)
