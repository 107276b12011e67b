"""Storing an interchange bundle's objects as they were: the cube writer's `restore` op.

An exported memory carries its whole state (status, version, net feedback, validity, the
duplicate it repeats), so importing it must store that state, not decide it again: the writer
does not ask the dedupe or world-model decisions here, it stores what it is handed, like every
other op. Each object kind has its own handler; all are idempotent (an object already stored is a
no-op), so an import can be run again. A memory with `replace` set is a bundle's edit of a stored
memory (an edited vault file, or `--on-conflict overwrite`): it becomes the memory's next
version, and only if the memory is still at the version the import planned against.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.records import IndexRow, MemoryRecord, Status, Tier, column_names
from pipeline.world_facts.fact import WorldFact
from storage.cube.images import image_of_row
from storage.cube.schema import blob, json_text

Row = dict[str, Any]

_RESTORE_COLUMNS = (*column_names(MemoryRecord), "index_text", "embedding", "embed_model", "intake_seq")
_INSERT = (f"INSERT INTO memories({', '.join(_RESTORE_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_RESTORE_COLUMNS))})")
_REPLACED = ("tier", "kind", "content", "tags", "metadata", "updated_at", "version", "status", "content_hash",
             "source_ids", "duplicate_of", "tokens", "episode", "tool", "feedback", "valid_from", "valid_to",
             "index_text", "intake_seq")
_REPLACE = (f"UPDATE memories SET {', '.join(f'{c} = ?' for c in _REPLACED)}, "
            "embedding = coalesce(?, embedding), embed_model = coalesce(?, embed_model) WHERE id = ?")


class RestoreOps:
    """The `restore` op of CubeWriter (mixed in; uses the writer's connection and shared steps)."""

    def _restore(self, row: Row, embed_model: str, result: Any) -> None:
        attrs = orjson.loads(row["attrs"])
        handler = {
            "memory": self._restore_memory, "version": self._restore_version, "episode": self._restore_episode,
            "feedback": self._restore_feedback, "link": self._restore_link,
        }.get(attrs.get("object"))
        if handler is None:
            result.fail(row, "invalid", f"cannot restore an object of type {attrs.get('object')!r}")
            return
        handler(row, attrs, embed_model, result)

    # --- memories ----------------------------------------------------------------------------

    def _restore_memory(self, row: Row, attrs: dict[str, Any], embed_model: str, result: Any) -> None:
        current = self.get(row["id"])
        if current is None:
            self._insert_restored(row, attrs, embed_model, result)
        elif attrs.get("replace") and current.version == attrs.get("base_version"):
            self._replace_restored(current, row, attrs, embed_model, result)
        else:
            self._reindex(row["id"], result)  # stored already (a re-run), or changed since the import planned

    def _values(self, row: Row, attrs: dict[str, Any], embed_model: str) -> dict[str, Any]:
        vector = row.get("vector")
        return {
            "id": row["id"], "cube": row["cube"], "agent": row["agent"], "tier": row["tier"], "kind": row["kind"],
            "content": row["content"], "tags": json_text(row["tags"]), "metadata": row["metadata"],
            "created_at": row["created_at"], "updated_at": row["updated_at"], "version": int(attrs["version"]),
            "status": attrs["status"], "content_hash": attrs.get("content_hash") or row["content_hash"],
            "source_ids": json_text(row["source_ids"]), "duplicate_of": attrs.get("duplicate_of"),
            "tokens": row["tokens"], "episode": row.get("episode"), "tool": row.get("tool"),
            "feedback": int(attrs.get("feedback") or 0), "valid_from": attrs.get("valid_from"),
            "valid_to": attrs.get("valid_to"), "expires_at": row.get("expires_at"),
            "index_text": row["index_text"], "embedding": blob(vector),
            "embed_model": embed_model if vector is not None else None, "intake_seq": row["seq"],
        }

    def _insert_restored(self, row: Row, attrs: dict[str, Any], embed_model: str, result: Any) -> None:
        values = self._values(row, attrs, embed_model)
        self._conn.execute(_INSERT, [values[c] for c in _RESTORE_COLUMNS])
        self._after_restore(row, values, result)

    def _replace_restored(self, current: MemoryRecord, row: Row, attrs: dict[str, Any], embed_model: str,
                          result: Any) -> None:
        self._snapshot(current)
        values = {**self._values(row, attrs, embed_model), "version": current.version + 1}
        self._conn.execute(_REPLACE, [*(values[c] for c in _REPLACED), values["embedding"], values["embed_model"],
                                      row["id"]])
        self._after_restore(row, values, result)

    def _after_restore(self, row: Row, values: dict[str, Any], result: Any) -> None:
        self._set_tags(row["id"], row["tags"])
        image = image_of_row(row)  # an image memory's facts; its bytes were stored before the import was planned
        if image is not None:
            self._store_image(row["id"], image)  # type: ignore[attr-defined]  # ImageWrites, beside this in CubeWriter
        if row["tier"] == Tier.WORLD:
            self._restore_fact_row(row["id"], orjson.loads(values["metadata"]), values["valid_to"])
        self._changed(row["id"], "upsert")
        if values["status"] == Status.ACTIVE:
            result.index_upserts.append(IndexRow(row["id"], row["cube"], row["tier"], row["kind"], row["index_text"],
                                                 row["tags"], row["created_at"], values["status"], row.get("vector")))
        else:
            result.index_deletes.append(row["id"])

    def _restore_fact_row(self, memory_id: str, metadata: dict[str, Any], valid_to: int | None) -> None:
        """The world-model row a fact memory has beside it (what `active_facts` looks up by subject)."""
        fact = WorldFact.from_dict(metadata)
        self._conn.execute(
            "INSERT OR REPLACE INTO facts(memory_id, subject_key, relation, predicate, object_key, polarity, "
            "valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (memory_id, fact.subject.casefold(), fact.relation, fact.predicate.value, fact.object_key,
             int(fact.polarity), fact.valid_from, valid_to),
        )

    # --- what belongs to memories ------------------------------------------------------------

    def _restore_version(self, row: Row, attrs: dict[str, Any], embed_model: str, result: Any) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO memory_versions(id, version, kind, content, tags, metadata, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row["id"], int(attrs["version"]), attrs["kind"], attrs["content"], json_text(attrs.get("tags") or []),
             json_text(attrs.get("metadata") or {}), int(attrs["updated_at"])),
        )

    def _restore_episode(self, row: Row, attrs: dict[str, Any], embed_model: str, result: Any) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO episodes(id, task, agent, outcome, opened_at, closed_at, task_vector) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row["id"], str(attrs.get("task") or ""), row["agent"], str(attrs.get("outcome") or "unknown"),
             int(attrs["opened_at"]), attrs.get("closed_at"), blob(attrs.get("task_vector"))),
        )

    def _restore_feedback(self, row: Row, attrs: dict[str, Any], embed_model: str, result: Any) -> None:
        """The event only: its effect (net score, a closed fact) is part of the restored memory."""
        key = (row["id"], attrs["signal"], row["agent"], int(attrs["at"]), attrs.get("note"))
        if self._conn.execute("SELECT 1 FROM feedback WHERE memory_id = ? AND signal = ? AND agent = ? AND at = ? "
                              "AND note IS ?", key).fetchone() is not None:
            return
        # intake_seq is unique; restored events take negative ones, below every live (positive) seq.
        lowest = self._conn.execute("SELECT min(0, coalesce(min(intake_seq), 0)) FROM feedback").fetchone()[0]
        self._conn.execute("INSERT INTO feedback(memory_id, signal, note, agent, at, intake_seq) VALUES (?, ?, ?, ?, ?, ?)",
                           (key[0], key[1], key[4], key[2], key[3], int(lowest) - 1))

    def _restore_link(self, row: Row, attrs: dict[str, Any], embed_model: str, result: Any) -> None:
        self._link(row["id"], str(attrs["type"]), str(attrs["dst"]), int(attrs["at"]), attrs.get("metadata"))
