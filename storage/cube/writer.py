"""Writing a cube file: one batch of pipeline rows in one transaction, dispatched by op.

The writer stores; it does not decide. World-fact reconciliation, feedback effects and the
treatment of rows dedupe believed stored come from the `WritePolicy` it is handed
(pipeline/write_decisions.py), asked per row inside the transaction so each decision sees the
rows before it. Every op is idempotent by id (or by intake seq), so a replay is always safe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import numpy as np
import orjson

from pipeline.errors import StoreError
from pipeline.records import DedupeColumns, IndexRow, Kind, MemoryRecord, Op, Status, column_names
from pipeline.world_facts.fact import WorldFact
from pipeline.world_model import Action
from pipeline.write_decisions import WritePolicy
from storage.cube.images import ImageWrites, image_of_row
from storage.cube.reader import CubeReader
from storage.cube.restore import RestoreOps
from storage.cube.schema import MIGRATIONS, blob, json_text
from storage.disk_space import full_disk
from storage.purge import secure, truncate_wal
from storage.sqlite import connect, create_migrated, migrate

CHANGES_KEPT = 200_000  # caches further behind than this reload from scratch
# What the server derives from other memories; such a row goes with the last of its sources.
_DERIVED_KINDS = frozenset({Kind.FACT.value, Kind.SUMMARY.value, Kind.SKILL.value})
# A record's columns (feedback starts at its default) plus what only the file keeps.
_INSERT_COLUMNS = (*(n for n in column_names(MemoryRecord) if n != "feedback"),
                   "index_text", "embedding", "embed_model", "intake_seq")
_AT = {name: i for i, name in enumerate(_INSERT_COLUMNS)}
_INSERT = (f"INSERT INTO memories({', '.join(_INSERT_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})")


@dataclass
class ApplyResult:
    """What one batch changed in a cube, for the derived indexes and the intake log."""

    done: list[int] = field(default_factory=list)  # intake seqs applied (or no-ops)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, code, message)
    index_upserts: list[IndexRow] = field(default_factory=list)  # rows to (re)index
    index_deletes: list[str] = field(default_factory=list)  # ids to remove from the indexes
    deleted: list[str] = field(default_factory=list)  # ids whose rows left the file (the purge scrubs after)

    def fail(self, row: dict[str, Any], code: str, message: str) -> None:
        self.failed.append((row["seq"], code, message))


Row = dict[str, Any]


def migrate_file(path: Path) -> None:
    """Bring an existing cube file to the current schema (reads name every column a migration adds)."""
    conn = connect(path, synchronous="NORMAL")
    try:
        migrate(conn, MIGRATIONS)
    except apsw.Error as exc:
        raise StoreError(f"cube file {path.name}: {exc}") from exc
    finally:
        conn.close()


class CubeWriter(RestoreOps, ImageWrites, CubeReader):
    """The one writer of a cube file (the shard's write actor); creates and migrates the file."""

    def __init__(self, path: Path, policy: WritePolicy) -> None:
        self.path = path
        self._policy = policy
        if not path.exists():
            create_migrated(path, MIGRATIONS)  # readers in other processes never see it half made
        # secure: a deleted memory's cells and pages are zeroed, not left in free space (storage/purge.py).
        # FULL: the intake log marks an entry done once this commit returns, so the commit must survive
        # a power cut too, not only a process crash.
        self._conn = secure(connect(path, synchronous="FULL"))
        migrate(self._conn, MIGRATIONS)
        self._ops: dict[str, Callable[[Row, str, ApplyResult], None]] = {
            Op.ADD: self._add,
            Op.UPDATE: self._update,
            Op.DELETE: self._delete,
            Op.FACT: self._fact,
            Op.SKILL: self._skill,
            Op.EPISODE: self._episode,
            Op.FEEDBACK: self._feedback,
            Op.LINK: self._user_link,
            Op.RESTORE: self._restore,
            Op.STATUS: self._set_status,
        }

    def apply(self, rows: Sequence[Row], embed_model: str) -> ApplyResult:
        """Apply one batch of deduped pipeline rows for this cube in a single transaction."""
        result = ApplyResult()
        try:
            with self._conn:
                for row in rows:
                    self._apply_row(row, embed_model, result)
                self._conn.execute("DELETE FROM changes WHERE seq <= ?", (self.last_change() - CHANGES_KEPT,))
        except apsw.FullError as exc:  # rolled back whole; the driver retries the batch once space frees
            raise full_disk(f"cube file {self.path.name}") from exc
        except apsw.Error as exc:
            raise StoreError(f"cube file {self.path.name}: {exc}") from exc
        return result

    def _apply_row(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        if row.get("error"):
            result.fail(row, "invalid", row["error"])
            return
        self._ops[row["op"]](row, embed_model, result)
        if self._policy.derived(row):
            return  # rides with its source entry, which reports done or failed
        if not result.failed or result.failed[-1][0] != row["seq"]:
            result.done.append(row["seq"])

    def set_embeddings(self, ids: Sequence[str], vectors: np.ndarray, model: str) -> int:
        try:
            with self._conn:
                for memory_id, vector in zip(ids, vectors):
                    self._conn.execute("UPDATE memories SET embedding = ?, embed_model = ? WHERE id = ?",
                                       (blob(vector), model, memory_id))
                    self._changed(memory_id, "upsert")
        except apsw.Error as exc:
            raise StoreError(f"cube file {self.path.name}: {exc}") from exc
        return len(ids)

    # --- memories ----------------------------------------------------------------------------

    def _add(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        if self.exists(row["id"]):
            # A replay after a crash, or a client repeating an id: no-op, but make sure the
            # derived indexes hold what the file holds (the crash may have come before them).
            self._reindex(row["id"], result)
            return
        status = self._policy.add_status(row)
        vector = row.get("vector")
        values = [row.get(name) for name in _INSERT_COLUMNS]  # per row: a list and fixed slots, no dicts
        values[_AT["tags"]] = json_text(row["tags"])
        values[_AT["version"]] = row.get("version") or 1
        values[_AT["status"]] = status
        values[_AT["source_ids"]] = json_text(row["source_ids"])
        values[_AT["embedding"]] = blob(vector)
        values[_AT["embed_model"]] = embed_model if vector is not None else None
        values[_AT["intake_seq"]] = row["seq"]
        self._conn.execute(_INSERT, values)
        image = image_of_row(row)
        if image is not None:
            self._store_image(row["id"], image)
        self._set_tags(row["id"], row["tags"])
        at = row["updated_at"]
        if row.get("episode"):
            self._link(row["id"], "part_of_episode", row["episode"], at)
        if row["duplicate_of"]:
            self._link(row["id"], "duplicate_of", row["duplicate_of"], at)
        if row["near_duplicate_of"]:
            self._link(row["id"], "near_duplicate", row["near_duplicate_of"], at, {"score": row["near_duplicate_score"]})
        for source in row["source_ids"]:
            self._link(row["id"], "derived_from", source, at)
        self._changed(row["id"], "upsert")
        if status == Status.ACTIVE:
            result.index_upserts.append(IndexRow(row["id"], row["cube"], row["tier"], row["kind"], row["index_text"],
                                                 row["tags"], row["created_at"], status, vector))

    def _update(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        current = self.get(row["id"])
        if current is not None and self._applied_seq(row["id"]) == row["seq"]:
            result.index_upserts += self.index_rows_for([row["id"]])  # a replay: already applied
            return
        if current is None:
            result.fail(row, "not_found", f"memory {row['id']} does not exist")
            return
        if row["base_version"] is not None and current.version != row["base_version"]:
            result.fail(row, "conflict", f"memory {row['id']} is at version {current.version}, not {row['base_version']}")
            return
        self._snapshot(current)
        vector = row.get("vector")
        own = 1 if vector is not None else 0  # new content makes a former exact duplicate a memory of its own
        self._conn.execute(
            "UPDATE memories SET tier = ?, kind = ?, content = ?, index_text = ?, tags = ?, metadata = ?, "
            "updated_at = ?, version = version + 1, content_hash = ?, tokens = ?, "
            "status = CASE WHEN ? THEN 'active' ELSE status END, "
            "duplicate_of = CASE WHEN ? THEN NULL ELSE duplicate_of END, "
            "embedding = coalesce(?, embedding), embed_model = coalesce(?, embed_model), "
            "intake_seq = ?, expires_at = ? WHERE id = ?",
            (row["tier"], row["kind"], row["content"], row["index_text"], json_text(row["tags"]), row["metadata"],
             row["updated_at"], row["content_hash"], row["tokens"], own, own, blob(vector),
             embed_model if vector is not None else None, row["seq"], row.get("expires_at"), row["id"]),
        )
        if own:
            self._conn.execute("DELETE FROM links WHERE src = ? AND type = 'duplicate_of'", (row["id"],))
        self._set_tags(row["id"], row["tags"])
        self._changed(row["id"], "upsert")
        result.index_upserts += self.index_rows_for([row["id"]])

    def _delete(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        memory_id = row["id"]
        result.index_deletes.append(memory_id)  # also when gone: a replay may find indexes behind
        if not self.exists(memory_id):
            return
        self._erase(memory_id, result)

    def _erase(self, memory_id: str, result: ApplyResult) -> None:
        """Every row that holds the memory or what it said: its versions, tags, links, fact and feedback
        rows, and the derived rows (facts, summaries, skills) it was the last remaining source of."""
        derived = [r[0] for r in self._conn.execute(
            "SELECT src FROM links WHERE dst = ? AND type = 'derived_from'", (memory_id,))]
        promoted = self._promote_duplicate_of(memory_id)
        for sql in (
            "DELETE FROM memories WHERE id = ?",
            "DELETE FROM memory_tags WHERE memory_id = ?",
            "DELETE FROM memory_versions WHERE id = ?",
            "DELETE FROM links WHERE src = ?",
            "DELETE FROM links WHERE dst = ?",
            "DELETE FROM facts WHERE memory_id = ?",
            "DELETE FROM feedback WHERE memory_id = ?",
            "DELETE FROM images WHERE memory_id = ?",  # its blob goes once no memory names it (service/images.py)
        ):
            self._conn.execute(sql, (memory_id,))
        self._changed(memory_id, "delete")
        result.deleted.append(memory_id)
        if promoted is not None:
            result.index_upserts += self.index_rows_for([promoted])
        for derived_id in derived:
            self._drop_source(derived_id, memory_id, promoted, result)

    def _drop_source(self, derived_id: str, gone: str, heir: str | None, result: ApplyResult) -> None:
        """A derived row loses a source: an exact duplicate promoted in its place takes over, and a row
        left with no source is erased too (a fact read from a deleted message must not outlive it)."""
        current = self.get(derived_id)
        if current is None or current.kind not in _DERIVED_KINDS:
            return  # a client's own memory that named the deleted one as a source keeps its text
        kept = [s for s in dict.fromkeys([*current.source_ids, *([heir] if heir else [])]) if s != gone]
        sources = [s for s in kept if self.exists(s)]
        if not sources:
            result.index_deletes.append(derived_id)
            self._erase(derived_id, result)
            return
        metadata = current.metadata
        if "source_ids" in metadata:
            metadata = {**metadata, "source_ids": sources}
        self._conn.execute("UPDATE memories SET source_ids = ?, metadata = ? WHERE id = ?",
                           (json_text(sources), json_text(metadata), derived_id))
        if heir is not None:
            self._link(derived_id, "derived_from", heir, current.updated_at)
        self._changed(derived_id, "upsert")

    def scrub(self) -> bool:
        """The purge's step for this file: the WAL, which holds old page images, truncated to nothing."""
        return truncate_wal(self._conn)

    def _promote_duplicate_of(self, memory_id: str) -> str | None:
        """When an original goes, its oldest exact duplicate takes its place, so no id vanishes."""
        rows = [r[0] for r in self._conn.execute(
            "SELECT id FROM memories WHERE duplicate_of = ? ORDER BY created_at, id", (memory_id,))]
        if not rows:
            return None
        heir, rest = rows[0], rows[1:]
        self._conn.execute("UPDATE memories SET status = 'active', duplicate_of = NULL WHERE id = ?", (heir,))
        self._conn.execute("DELETE FROM links WHERE src = ? AND type = 'duplicate_of'", (heir,))
        for other in rest:
            self._conn.execute("UPDATE memories SET duplicate_of = ? WHERE id = ?", (heir, other))
            self._conn.execute("UPDATE links SET dst = ? WHERE src = ? AND type = 'duplicate_of'", (heir, other))
        self._changed(heir, "upsert")
        return heir

    def _set_status(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        """Archive an active memory or restore an archived one; any other pairing is a no-op (a replay)."""
        wanted = orjson.loads(row["attrs"])["status"]
        current = self.get(row["id"])
        if current is None:
            result.fail(row, "not_found", f"memory {row['id']} does not exist")
            return
        archive = wanted == Status.ARCHIVED and current.status == Status.ACTIVE
        restore = wanted == Status.ACTIVE and current.status == Status.ARCHIVED
        if not (archive or restore):
            return
        self._conn.execute("UPDATE memories SET status = ? WHERE id = ?", (wanted, row["id"]))
        self._changed(row["id"], "upsert")
        if archive:
            result.index_deletes.append(row["id"])
        else:
            result.index_upserts += self.index_rows_for([row["id"]])

    # --- world facts -------------------------------------------------------------------------

    def _fact(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        if self.exists(row["id"]):  # a replay: facts are derived under deterministic ids
            self._reindex(row["id"], result)
            return
        decision = self._policy.fact(row, self)
        if decision.action is Action.DUPLICATE:
            self._restate_fact(decision.target, decision.fact, row["updated_at"])
            return
        historical = decision.action is Action.HISTORICAL
        self._insert_fact(row, decision.fact, Status.SUPERSEDED if historical else Status.ACTIVE, embed_model, result)
        if historical:
            self._link(decision.target, "supersedes", row["id"], row["updated_at"])
        for closure in decision.closes:
            self._close_fact(closure.fact_id, closure.at, result, by=closure.by)

    def _insert_fact(self, row: Row, fact: WorldFact, status: Status, embed_model: str, result: ApplyResult) -> None:
        record = {**row, **DedupeColumns("new", status.value).as_dict(), "metadata": json_text(fact.to_dict()),
                  "valid_from": fact.valid_from, "valid_to": fact.valid_to, "source_ids": list(fact.source_ids)}
        self._add(record, embed_model, result)
        self._conn.execute(
            "INSERT OR REPLACE INTO facts(memory_id, subject_key, relation, predicate, object_key, polarity, "
            "valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row["id"], fact.subject.casefold(), fact.relation, fact.predicate.value, fact.object_key,
             int(fact.polarity), fact.valid_from, fact.valid_to),
        )

    def _restate_fact(self, target: str, merged: WorldFact, at: int) -> None:
        current = self.get(target)
        metadata = merged.to_dict()
        if current is None or current.metadata == metadata:
            return
        self._snapshot(current)
        self._conn.execute(
            "UPDATE memories SET metadata = ?, source_ids = ?, valid_from = ?, version = version + 1, updated_at = ? "
            "WHERE id = ?",
            (json_text(metadata), json_text(list(merged.source_ids)), merged.valid_from, at, target),
        )
        for source in merged.source_ids:
            self._link(target, "derived_from", source, at)
        self._changed(target, "upsert")

    def _close_fact(self, fact_id: str, at: int, result: ApplyResult, by: str | None = None) -> None:
        """The fact stops holding at `at`: superseded (by a newer fact), never deleted."""
        current = self.get(fact_id)
        if current is None or current.status != Status.ACTIVE:
            return
        self._snapshot(current)
        self._conn.execute(
            "UPDATE memories SET status = 'superseded', valid_to = ?, metadata = ?, version = version + 1, "
            "updated_at = ? WHERE id = ?",
            (at, json_text({**current.metadata, "valid_to": at}), at, fact_id),
        )
        self._conn.execute("UPDATE facts SET valid_to = ? WHERE memory_id = ?", (at, fact_id))
        if by is not None:
            self._link(by, "supersedes", fact_id, at)
        self._changed(fact_id, "upsert")
        result.index_deletes.append(fact_id)

    # --- skills ------------------------------------------------------------------------------

    def _skill(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        version = int(orjson.loads(row["metadata"])["version"])
        current = self.get(row["id"])
        if current is None:
            self._add({**row, **DedupeColumns("new", Status.ACTIVE.value).as_dict(), "version": version},
                      embed_model, result)
            return
        if current.version >= version:  # a replay of a version already stored
            self._reindex(row["id"], result)
            return
        self._snapshot(current)
        vector = row.get("vector")
        self._conn.execute(
            "UPDATE memories SET content = ?, index_text = ?, metadata = ?, source_ids = ?, version = ?, "
            "updated_at = ?, tokens = ?, embedding = coalesce(?, embedding), embed_model = coalesce(?, embed_model) "
            "WHERE id = ?",
            (row["content"], row["index_text"], row["metadata"], json_text(row["source_ids"]), version,
             row["updated_at"], row["tokens"], blob(vector), embed_model if vector is not None else None, row["id"]),
        )
        self._changed(row["id"], "upsert")
        result.index_upserts += self.index_rows_for([row["id"]])

    # --- episodes, feedback, links -----------------------------------------------------------

    def _episode(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        attrs = orjson.loads(row["attrs"])
        if attrs.get("action") == "open":
            self._conn.execute(
                "INSERT OR IGNORE INTO episodes(id, task, agent, opened_at) VALUES (?, ?, ?, ?)",
                (row["id"], str(attrs.get("task") or ""), row["agent"], int(attrs.get("at") or 0)),
            )
            return
        if self.episode(row["id"]) is None:
            result.fail(row, "not_found", f"episode {row['id']} does not exist")
            return
        self._conn.execute(
            "UPDATE episodes SET outcome = ?, closed_at = ?, task_vector = coalesce(?, task_vector) "
            "WHERE id = ? AND closed_at IS NULL",
            (str(attrs.get("outcome") or "unknown"), int(attrs.get("at") or 0), blob(attrs.get("task_vector")),
             row["id"]),
        )

    def _feedback(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        attrs = orjson.loads(row["attrs"])
        current = self.get(row["id"])
        if current is None:
            result.fail(row, "not_found", f"memory {row['id']} does not exist")
            return
        at = int(attrs.get("at") or 0)
        self._conn.execute(
            "INSERT OR IGNORE INTO feedback(memory_id, signal, note, agent, at, intake_seq) VALUES (?, ?, ?, ?, ?, ?)",
            (row["id"], attrs["signal"], attrs.get("note"), row["agent"], at, row["seq"]),
        )
        if not self._conn.changes():
            return  # a replay: this feedback was applied already
        effect = self._policy.feedback(attrs["signal"], current.tier, bool(attrs.get("correction")))
        if effect.closes_fact:
            self._close_fact(row["id"], at, result)
        if effect.score_delta:
            self._conn.execute("UPDATE memories SET feedback = feedback + ? WHERE id = ?",
                               (effect.score_delta, row["id"]))

    def _user_link(self, row: Row, embed_model: str, result: ApplyResult) -> None:
        attrs = orjson.loads(row["attrs"])
        if not self.exists(row["id"]):
            result.fail(row, "not_found", f"memory {row['id']} does not exist")
            return
        self._link(row["id"], str(attrs["type"]), str(attrs["dst"]), int(attrs.get("at") or 0), attrs.get("metadata"))

    # --- shared steps ------------------------------------------------------------------------

    def _applied_seq(self, memory_id: str) -> int | None:
        row = self._conn.execute("SELECT intake_seq FROM memories WHERE id = ?", (memory_id,)).fetchone()
        return row[0] if row else None

    def _snapshot(self, current: MemoryRecord) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO memory_versions(id, version, kind, content, tags, metadata, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (current.id, current.version, current.kind, current.content, json_text(current.tags),
             json_text(current.metadata), current.updated_at),
        )

    def _reindex(self, memory_id: str, result: ApplyResult) -> None:
        stored = self.index_rows_for([memory_id])
        if stored and stored[0].status == Status.ACTIVE:
            result.index_upserts.append(stored[0])

    def _set_tags(self, memory_id: str, tags: Sequence[str]) -> None:
        self._conn.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
        for tag in dict.fromkeys(tags):
            self._conn.execute("INSERT INTO memory_tags(tag, memory_id) VALUES (?, ?)", (tag, memory_id))

    def _link(self, src: str, link_type: str, dst: str, at: int, metadata: dict | None = None) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO links(src, type, dst, created_at, metadata) VALUES (?, ?, ?, ?, ?)",
            (src, link_type, dst, at, json_text(metadata or {})),
        )

    def _changed(self, memory_id: str, op: str) -> None:
        self._conn.execute("INSERT INTO changes(memory_id, op) VALUES (?, ?)", (memory_id, op))
