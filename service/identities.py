"""Who can act: API keys managed by operators (list, create, revoke), and the agents a keyless server knows.

The same stores and audit actions as `memos keys` (api/cli/keys.py); here for the web UI's Settings
page, where the caller is a signed-in operator. As for every server-wide operation
(api/deps.py `operator`), that means an admin key while auth is on, and anyone on a keyless loopback
server, where the first key can be made.
"""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller
from pipeline.errors import Forbidden
from pipeline.ids import check_agent_id
from pipeline.timefmt import to_iso
from service.auth import Authenticator
from storage.api_keys import ApiKeys, KeyRecord
from storage.audit_log import AuditLog
from storage.registry import Registry


def key_view(k: KeyRecord) -> dict[str, Any]:
    return {"id": k.id, "agent": k.agent, "admin": k.admin, "created_at": to_iso(k.created_at),
            "revoked_at": to_iso(k.revoked_at) if k.revoked_at else None}


class Identities:
    def __init__(self, keys: ApiKeys, audit: AuditLog, auth: Authenticator, registry: Registry) -> None:
        self._keys, self._audit, self._auth, self._registry = keys, audit, auth, registry

    def may_manage_keys(self, caller: Caller) -> bool:
        return caller.admin or not self._auth.enabled()

    def keys(self, caller: Caller) -> list[dict[str, Any]]:
        self._require_operator(caller)
        return [key_view(k) for k in self._keys.list()]

    def create_key(self, caller: Caller, agent: str, admin: bool) -> dict[str, Any]:
        """A new key; `key` (the secret) is in this answer only, never stored."""
        self._require_operator(caller)
        check_agent_id(agent)
        record, key = self._keys.create(agent, admin)
        self._audit.record(caller.agent, "key.create", target=agent, details={"key_id": record.id, "admin": admin})
        return {**key_view(record), "key": key}

    def revoke_key(self, caller: Caller, key_id: str) -> dict[str, Any]:
        self._require_operator(caller)
        record = self._keys.revoke(key_id)
        self._audit.record(caller.agent, "key.revoke", target=record.agent, details={"key_id": record.id})
        return key_view(record)

    def known_agents(self) -> list[str]:
        """Agents with a private cube, for choosing whose view to see while auth is off (empty while it is on)."""
        if self._auth.enabled():
            return []
        return sorted({c.owner for c in self._registry.all() if c.kind == "private"})

    def _require_operator(self, caller: Caller) -> None:
        if not self.may_manage_keys(caller):
            raise Forbidden("managing API keys needs an admin key")
