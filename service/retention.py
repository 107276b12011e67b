"""Per-cube retention rules: kept in the registry, managed over the API, the CLI and the web UI,
applied by the sweeper (service/sweeper.py) through the same ops a cleanup uses, each application audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pipeline.access import Caller, Role
from pipeline.errors import Invalid, NotFound, TooLarge
from pipeline.lifecycle import MAX_RULES_PER_CUBE, Action, CleanupAction, RetentionRule, beyond_count, changes
from pipeline.records import MemoryRecord
from pipeline.timefmt import now_ms, to_iso
from service.access import Access
from service.cleanup import op_drafts
from service.intake_ops import IntakeOps
from storage.audit_log import AuditLog
from storage.cube.selection import select
from storage.lifecycle_store import LifecycleStore
from storage.paths import DataPaths
from storage.read_side import ReadSide

RULE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SWEEPER_AGENT = "memos-sweeper"  # who the audit log names for what the sweeper does


def check_rule_id(rule_id: str) -> str:
    if not RULE_ID.fullmatch(rule_id):
        raise Invalid(f"rule id {rule_id[:80]!r} must be 1-64 letters, digits, '_' or '-'")
    return rule_id


class RetentionService:
    def __init__(self, access: Access, paths: DataPaths, read: ReadSide, ops: IntakeOps, audit: AuditLog,
                 store: LifecycleStore) -> None:
        self._access, self._paths, self._read, self._ops = access, paths, read, ops
        self._audit, self._store = audit, store

    def list(self, caller: Caller, cube_id: str | None) -> dict[str, Any]:
        cube = self._access.require(caller, cube_id, Role.READ)
        return {"cube": cube.id, "rules": [shown(r) for r in self._store.rules(cube.id)]}

    def put(self, caller: Caller, cube_id: str | None, rule: RetentionRule) -> dict[str, Any]:
        """Create or replace one rule; managing rules takes admin on the cube (your own cube: you)."""
        cube = self._access.require(caller, cube_id, Role.ADMIN)
        check_rule_id(rule.id)
        rule.check()
        existing = {r.id for r in self._store.rules(cube.id)}
        if rule.id not in existing and len(existing) >= MAX_RULES_PER_CUBE:
            raise TooLarge(f"a cube holds at most {MAX_RULES_PER_CUBE} retention rules")
        stored = RetentionRule(**{**rule.as_dict(), "action": rule.action, "created_by": caller.agent,
                                  "created_at": now_ms()})
        self._store.put_rule(cube.id, stored)
        self._audit.record(caller.agent, "retention.set", cube=cube.id, details=stored.as_dict())
        return shown(stored)

    def delete(self, caller: Caller, cube_id: str | None, rule_id: str) -> None:
        cube = self._access.require(caller, cube_id, Role.ADMIN)
        if not self._store.delete_rule(cube.id, check_rule_id(rule_id)):
            raise NotFound(f"cube {cube.id} has no retention rule {rule_id}")
        self._audit.record(caller.agent, "retention.rm", cube=cube.id, details={"id": rule_id})

    def due(self, cube_id: str, rule: RetentionRule, now: int) -> list[MemoryRecord]:
        """The memories the rule would delete or archive now."""
        act = CleanupAction(rule.action)
        found = select(self._paths.cube_db(cube_id), rule.selection(now), act.action, now)
        ids = [s.id for s in found]
        if rule.max_count is not None:
            ids = beyond_count(((s.id, s.kind, s.created_at) for s in found), rule.max_count)
        if not ids:
            return []
        with self._read.cube(cube_id) as store:
            records = store.get_many(ids) if store is not None else {}
        return [records[i] for i in ids if i in records and changes(records[i], act)]

    async def apply(self, cube_id: str, pending: Callable[[str], bool]) -> list[dict[str, Any]]:
        """Apply every rule of the cube once; a memory with an op still pending waits for the next sweep."""
        now = now_ms()
        applied = []
        skip: set[str] = set()  # taken by an earlier rule of this sweep
        for rule in self._store.rules(cube_id):
            records = [r for r in self.due(cube_id, rule, now) if r.id not in skip and not pending(r.id)]
            if not records:
                continue
            drafts = op_drafts(rule.created_by or SWEEPER_AGENT, cube_id, records, CleanupAction(rule.action), now)
            job_id, _ = await self._ops.submit(rule.created_by or SWEEPER_AGENT, f"retention.{rule.action.value}",
                                               drafts)
            skip.update(r.id for r in records)
            # The ids, never the content: the log outlives what it records deleting.
            self._audit.record(SWEEPER_AGENT, "retention.apply", cube=cube_id,
                               details={"rule": rule.id, "action": rule.action.value, "memories": len(records),
                                        "job_id": job_id, "ids": [r.id for r in records[:100]]})
            applied.append({"rule": rule.id, "memories": len(records), "job_id": job_id})
        return applied


def shown(rule: RetentionRule) -> dict[str, Any]:
    return {**rule.as_dict(), "created_at": to_iso(rule.created_at)}


def rule_from(rule_id: str, values: dict[str, Any]) -> RetentionRule:
    return RetentionRule(id=rule_id, tier=values.get("tier"), kind=values.get("kind"), tag=values.get("tag"),
                         status=values.get("status") or "active", max_age_s=values.get("max_age_s"),
                         max_count=values.get("max_count"), action=Action(values.get("action") or "delete"))
