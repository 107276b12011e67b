"""Writes and reads of the three tiers in a cube file: world facts, skills, episodes, feedback, links.

A mixin of CubeStore: these run inside the same per-batch transaction as every other row.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from pipeline.records import Kind, Op, Status, Tier
from pipeline.world_facts import WorldFact
from pipeline.world_model import Action, StoredFact, correct, decide

if TYPE_CHECKING:
    from storage.cube_store import ApplyResult

# Derived rows ride with the intake entry that caused them and report nothing themselves.
_DERIVED_OPS = (Op.FACT.value, Op.SKILL.value)


def is_derived(row: dict[str, Any]) -> bool:
    return row["op"] in _DERIVED_OPS or (row["op"] == Op.ADD and row.get("kind") == Kind.SUMMARY)


class TierWrites:
    _conn: Any

    # --- world facts -------------------------------------------------------------------------

    def active_facts(self, subject: str) -> list[StoredFact]:
        rows = self._conn.execute(
            "SELECT m.id, m.metadata FROM facts f JOIN memories m ON m.id = f.memory_id "
            "WHERE f.subject_key = ? AND m.status = 'active' ORDER BY m.id",
            (subject.casefold(),),
        )
        return [StoredFact(r[0], WorldFact.from_dict(orjson.loads(r[1]))) for r in rows]

    def stored_fact(self, memory_id: str) -> StoredFact | None:
        row = self._conn.execute(
            "SELECT m.id, m.metadata FROM facts f JOIN memories m ON m.id = f.memory_id WHERE m.id = ?", (memory_id,)
        ).fetchone()
        return StoredFact(row[0], WorldFact.from_dict(orjson.loads(row[1]))) if row else None

    def _fact(self, row: dict[str, Any], embed_model: str, result: ApplyResult) -> None:
        if self.exists(row["id"]):  # a replay: facts are derived under deterministic ids
            self._reindex(row["id"], result)
            return
        attrs = orjson.loads(row["attrs"])
        new = StoredFact(row["id"], WorldFact.from_dict(attrs["fact"]))
        old = self.stored_fact(attrs["corrects"]) if attrs.get("corrects") else None
        decision = correct(old, new) if old is not None else decide(new, self.active_facts(new.fact.subject))
        if decision.action is Action.DUPLICATE:
            self._restate_fact(decision.target, decision.fact, row, result)
            return
        historical = decision.action is Action.HISTORICAL
        self._insert_fact(row, decision.fact, Status.SUPERSEDED if historical else Status.ACTIVE, embed_model, result)
        if historical:
            self._link(decision.target, "supersedes", row["id"], row["updated_at"])
        for closure in decision.closes:
            self._close_fact(closure.fact_id, closure.at, result, by=closure.by)

    def _insert_fact(self, row: dict[str, Any], fact: WorldFact, status: Status, embed_model: str,
                     result: ApplyResult) -> None:
        record = {**row, "metadata": orjson.dumps(fact.to_dict()).decode(), "status": status.value,
                  "dedupe": "new", "duplicate_of": None, "near_duplicate_of": None, "near_duplicate_score": None,
                  "valid_from": fact.valid_from, "valid_to": fact.valid_to, "source_ids": list(fact.source_ids)}
        self._add(record, embed_model, result)
        self._conn.execute(
            "INSERT OR REPLACE INTO facts(memory_id, subject_key, relation, predicate, object_key, polarity, "
            "valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row["id"], fact.subject.casefold(), fact.relation, fact.predicate.value, fact.object_key,
             int(fact.polarity), fact.valid_from, fact.valid_to),
        )

    def _restate_fact(self, target: str, merged: WorldFact, row: dict[str, Any], result: ApplyResult) -> None:
        current = self.get(target)
        metadata = merged.to_dict()
        if current is None or current["metadata"] == metadata:
            return
        self._snapshot(current)
        self._conn.execute(
            "UPDATE memories SET metadata = ?, source_ids = ?, valid_from = ?, version = version + 1, updated_at = ? "
            "WHERE id = ?",
            (orjson.dumps(metadata).decode(), orjson.dumps(list(merged.source_ids)).decode(), merged.valid_from,
             row["updated_at"], target),
        )
        for source in merged.source_ids:
            self._link(target, "derived_from", source, row["updated_at"])
        self._changed(target, "upsert")

    def _close_fact(self, fact_id: str, at: int, result: ApplyResult, by: str | None = None) -> None:
        """The fact stops holding at `at`: superseded (by a newer fact), never deleted."""
        current = self.get(fact_id)
        if current is None or current["status"] != Status.ACTIVE:
            return
        self._snapshot(current)
        metadata = {**current["metadata"], "valid_to": at}
        self._conn.execute(
            "UPDATE memories SET status = 'superseded', valid_to = ?, metadata = ?, version = version + 1, "
            "updated_at = ? WHERE id = ?",
            (at, orjson.dumps(metadata).decode(), at, fact_id),
        )
        self._conn.execute("UPDATE facts SET valid_to = ? WHERE memory_id = ?", (at, fact_id))
        if by is not None:
            self._link(by, "supersedes", fact_id, at)
        self._changed(fact_id, "upsert")
        result.index_deletes.append(fact_id)

    # --- skills ------------------------------------------------------------------------------

    def _skill(self, row: dict[str, Any], embed_model: str, result: ApplyResult) -> None:
        version = int(orjson.loads(row["metadata"])["version"])
        current = self.get(row["id"])
        record = {**row, "status": Status.ACTIVE.value, "dedupe": "new", "duplicate_of": None,
                  "near_duplicate_of": None, "near_duplicate_score": None, "version": version}
        if current is None:
            self._add(record, embed_model, result)
            return
        if current["version"] >= version:  # a replay of a version already stored
            self._reindex(row["id"], result)
            return
        self._snapshot(current)
        self._conn.execute(
            "UPDATE memories SET content = ?, index_text = ?, metadata = ?, source_ids = ?, version = ?, "
            "updated_at = ?, tokens = ?, embedding = coalesce(?, embedding), embed_model = coalesce(?, embed_model) "
            "WHERE id = ?",
            (row["content"], row["index_text"], row["metadata"], orjson.dumps(row["source_ids"]).decode(), version,
             row["updated_at"], row["tokens"], _blob(row.get("vector")),
             embed_model if row.get("vector") is not None else None, row["id"]),
        )
        self._changed(row["id"], "upsert")
        result.index_upserts += self.index_rows_for([row["id"]])

    def skills(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT metadata FROM memories WHERE tier = 'skill' AND status = 'active' ORDER BY id")
        return [orjson.loads(r[0]) for r in rows]

    def skill_version(self, skill_id: str, version: int) -> dict[str, Any] | None:
        current = self.get(skill_id)
        if current is None or current["tier"] != Tier.SKILL:
            return None
        if current["version"] == version:
            return current["metadata"]
        for old in self.versions(skill_id):
            if old["version"] == version:
                return old["metadata"]
        return None

    # --- episodes ----------------------------------------------------------------------------

    def _episode(self, row: dict[str, Any], result: ApplyResult) -> None:
        attrs = orjson.loads(row["attrs"])
        if attrs.get("action") == "open":
            self._conn.execute(
                "INSERT OR IGNORE INTO episodes(id, task, agent, opened_at) VALUES (?, ?, ?, ?)",
                (row["id"], str(attrs.get("task") or ""), row["agent"], int(attrs.get("at") or 0)),
            )
            return
        if self.episode(row["id"]) is None:
            result.failed.append((row["seq"], "not_found", f"episode {row['id']} does not exist"))
            return
        vector = attrs.get("task_vector")
        self._conn.execute(
            "UPDATE episodes SET outcome = ?, closed_at = ?, task_vector = coalesce(?, task_vector) "
            "WHERE id = ? AND closed_at IS NULL",
            (str(attrs.get("outcome") or "unknown"), int(attrs.get("at") or 0), _blob(vector), row["id"]),
        )

    def episode(self, episode_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT id, task, agent, outcome, opened_at, closed_at FROM episodes WHERE id = ?", (episode_id,)
        ).fetchone()
        if row is None:
            return None
        return {"id": row[0], "task": row[1], "agent": row[2], "outcome": row[3], "opened_at": row[4],
                "closed_at": row[5]}

    def episode_rows(self, closed: bool, limit: int) -> list[dict[str, Any]]:
        """Open episodes, or the most recent closed ones, with their task vectors."""
        where = "closed_at IS NOT NULL" if closed else "closed_at IS NULL"
        rows = self._conn.execute(
            f"SELECT id, task, outcome, opened_at, closed_at, task_vector FROM episodes WHERE {where} "
            "ORDER BY coalesce(closed_at, opened_at) DESC, id DESC LIMIT ?", (limit,))
        return [{"id": r[0], "task": r[1], "outcome": r[2], "opened_at": r[3], "closed_at": r[4],
                 "task_vector": np.frombuffer(r[5], dtype=np.float32) if r[5] else None} for r in rows]

    def episode_traces(self, episode_id: str) -> list[dict[str, Any]]:
        from storage.cube_store import RECORD_COLUMNS, _record

        rows = self._conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM memories WHERE episode = ? AND kind != 'summary' "
            "ORDER BY created_at, id", (episode_id,))
        return [_record(r) for r in rows]

    # --- feedback and links ------------------------------------------------------------------

    def _feedback(self, row: dict[str, Any], result: ApplyResult) -> None:
        attrs = orjson.loads(row["attrs"])
        current = self.get(row["id"])
        if current is None:
            result.failed.append((row["seq"], "not_found", f"memory {row['id']} does not exist"))
            return
        at = int(attrs.get("at") or 0)
        self._conn.execute(
            "INSERT OR IGNORE INTO feedback(memory_id, signal, note, agent, at, intake_seq) VALUES (?, ?, ?, ?, ?, ?)",
            (row["id"], attrs["signal"], attrs.get("note"), row["agent"], at, row["seq"]),
        )
        if not self._conn.changes():
            return  # a replay: this feedback was applied already
        signal = attrs["signal"]
        is_fact = current["tier"] == Tier.WORLD
        if is_fact and (signal == "outdated" or (signal == "wrong" and not attrs.get("correction"))):
            self._close_fact(row["id"], at, result)
        delta = {"useful": 1, "not_useful": -1}.get(signal, 0 if is_fact else -1)
        if delta:
            self._conn.execute("UPDATE memories SET feedback = feedback + ? WHERE id = ?", (delta, row["id"]))

    def feedback_of(self, memory_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT signal, note, agent, at FROM feedback WHERE memory_id = ? ORDER BY seq", (memory_id,))
        return [{"signal": r[0], "note": r[1], "agent": r[2], "at": r[3]} for r in rows]

    def _user_link(self, row: dict[str, Any], result: ApplyResult) -> None:
        attrs = orjson.loads(row["attrs"])
        if not self.exists(row["id"]):
            result.failed.append((row["seq"], "not_found", f"memory {row['id']} does not exist"))
            return
        self._link(row["id"], str(attrs["type"]), str(attrs["dst"]), int(attrs.get("at") or 0), attrs.get("metadata"))

    def graph(self, start: str, depth: int, types: set[str] | None, limit: int = 500) -> dict[str, Any]:
        """Nodes and edges within `depth` links of `start`, either direction, breadth first."""
        seen = {start}
        edges: dict[tuple[str, str, str], dict[str, Any]] = {}
        frontier = deque([(start, 0)])
        while frontier and len(seen) < limit:
            node, d = frontier.popleft()
            if d >= depth:
                continue
            for link in self.links_of(node):
                if types and link["type"] not in types:
                    continue
                edges[(link["src"], link["type"], link["dst"])] = link
                other = link["dst"] if link["src"] == node else link["src"]
                if other not in seen:
                    seen.add(other)
                    frontier.append((other, d + 1))
        return {"nodes": sorted(seen), "edges": sorted(edges.values(), key=lambda e: (e["src"], e["type"], e["dst"]))}

    # --- helpers -----------------------------------------------------------------------------

    def _snapshot(self, current: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO memory_versions(id, version, kind, content, tags, metadata, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (current["id"], current["version"], current["kind"], current["content"],
             orjson.dumps(current["tags"]).decode(), orjson.dumps(current["metadata"]).decode(),
             current["updated_at"]),
        )

    def _reindex(self, memory_id: str, result: ApplyResult) -> None:
        stored = self.index_rows_for([memory_id])
        if stored and stored[0]["status"] == Status.ACTIVE:
            result.index_upserts.append(stored[0])


def _blob(vector: Any) -> bytes | None:
    if vector is None:
        return None
    return np.asarray(vector, dtype=np.float32).tobytes()
