"""The write stage as a Ray actor, one per shard: owns the shard's Lance table, tantivy writer and cube files."""

from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from actors.stage_timing import timing_rows
from pipeline.context import ContextWindow, affected, contexts
from pipeline.records import IndexRow, Status
from pipeline.write_decisions import WritePolicy
from pipeline.write_plan import plan_writes, split_index_rows, vectors_of
from storage.cube.writer import CubeWriter
from storage.lexical_index import LexicalWriter
from storage.paths import DataPaths
from storage.vector_shard import VectorShard


class ShardWriter:
    """Applies deduped batches: SQLite first, then Lance and tantivy; also rebuilds the shard."""

    def __init__(
        self, data_dir: str, shard: str, dim: int, model: str, compact_every: int, ann_min_rows: int,
        window: ContextWindow = ContextWindow(),
    ) -> None:
        self._paths = DataPaths(Path(data_dir))
        self._paths.ensure()
        self._shard, self._model, self._compact_every = shard, model, compact_every
        self._lexical = LexicalWriter(self._paths.lexical_dir(shard))
        self._vectors = VectorShard(self._paths.vectors_dir(shard), dim, create=True)
        self._stores: OrderedDict[str, CubeWriter] = OrderedDict()
        self._policy = WritePolicy()
        self._batches = 0
        self._ann_min_rows = ann_min_rows
        self._window = window

    def ready(self) -> bool:
        return True

    def needs_rebuild(self) -> bool:
        """True when the tantivy index was made by an older schema and was started afresh."""
        return self._lexical.recreated

    def _store(self, cube: str) -> CubeWriter:
        store = self._stores.pop(cube, None) or CubeWriter(self._paths.cube_db(cube), self._policy)
        self._stores[cube] = store
        while len(self._stores) > 64:
            self._stores.popitem(last=False)[1].close()
        return store

    def write(self, batch: pa.RecordBatch) -> dict[str, Any]:
        """SQLite first (the truth), then Lance and tantivy; a crash between them is healed by replay.

        The answer carries every stage's timing on the batch (`stages`, actors/stage_timing.py)."""
        start = time.perf_counter()
        answer = self._write(batch.replace_schema_metadata(None))
        return {**answer, "stages": timing_rows(batch, "write", time.perf_counter() - start)}

    def _write(self, batch: pa.RecordBatch) -> dict[str, Any]:
        done: list[int] = []
        failed: list[tuple[int, str, str]] = []
        upserts: list[IndexRow] = []
        deletes: list[tuple[str, str]] = []
        recontext: list[IndexRow] = []  # unchanged rows whose neighbours changed: BM25 only
        deleted: list[tuple[str, str]] = []  # (cube, id) of rows that left a file: the purge scrubs them
        # Every cube a row landed in, index change or not: a feedback changes only the cube file, and
        # what caches its records (the prefetch pools) must still hear of it.
        touched: set[str] = set()
        for cube, rows in plan_writes(batch).items():
            store = self._store(cube)
            result = store.apply(rows, self._model)
            if result.done:
                touched.add(cube)
            done += result.done
            failed += result.failed
            deleted += [(cube, memory_id) for memory_id in result.deleted]
            keep, drop = split_index_rows(result.index_upserts)
            upserts += keep
            deletes += drop + [(cube, memory_id) for memory_id in result.index_deletes]
            changed = {r.id for r in result.index_upserts} | set(result.index_deletes)
            recontext += self._with_context(store, keep, changed)
        if deletes:
            self._vectors.delete(deletes)
        self._vectors.upsert(upserts)
        self._lexical.apply(upserts + recontext, deletes)
        self._batches += 1
        if self._batches % self._compact_every == 0:
            self.settle()
        touched |= {c for c, _ in deletes} | {r.cube for r in upserts}
        return {"shard": self._shard, "done": done, "failed": failed, "cubes": sorted(touched), "deleted": deleted}

    def _with_context(self, store: CubeWriter, keep: list[IndexRow], changed: set[str]) -> list[IndexRow]:
        """Set `context` on the kept rows; return the other rows whose context a change reached."""
        if not changed or self._window.reach == 0:
            return []
        around = store.thread_around(sorted(changed), self._window.reach, self._window.gap_ms)
        stale = affected(around, changed, self._window)
        if not stale:
            return []
        # the stale rows' own windows need the rows beyond them too
        around += store.thread_around(sorted(stale - changed), self._window.reach, self._window.gap_ms)
        text = contexts(around, stale, self._window)
        for row in keep:
            row.context = text.get(row.id)
        kept = {r.id for r in keep}
        others = [r for r in store.index_rows_for(sorted(stale - kept)) if r.status == Status.ACTIVE]
        for row in others:
            row.context = text.get(row.id)
        return others

    def store_vectors(self, batch: pa.RecordBatch) -> int:
        """A reindex's re-embedded rows: their vectors into the cube files (the indexes are rebuilt after)."""
        vectors = vectors_of(batch)
        rows_of: dict[str, list[int]] = {}
        for i, cube in enumerate(batch["cube"].to_pylist()):
            rows_of.setdefault(cube, []).append(i)
        ids = batch["id"].to_pylist()
        return sum(self._store(cube).set_embeddings([ids[i] for i in rows], np.stack([vectors[i] for i in rows]),
                                                    self._model)
                   for cube, rows in rows_of.items())

    def settle(self) -> dict[str, int | bool]:
        """Compact Lance (which also folds new rows into its index) and build the ANN index once due."""
        self._vectors.compact()
        rows = self._vectors.count()
        built = False
        if rows >= self._ann_min_rows and not self._vectors.has_ann_index():
            self._vectors.build_ann_index()
            built = True
        return {"rows": rows, "ann_built": built}

    def drop_cube(self, cube: str) -> None:
        """Remove a deleted cube's file and every index entry it had in this shard."""
        store = self._stores.pop(cube, None)
        if store is not None:
            store.close()
        self._lexical.drop_cube(cube)
        self._vectors.drop_cube(cube)
        for path in self._paths.cube_files(cube):
            path.unlink(missing_ok=True)

    def purge(self, cubes: list[str], deleted_in: list[str]) -> dict[str, int | bool]:
        """Make deleted rows unrecoverable from this shard's files (service/purge.py schedules it).

        Lance and tantivy keep a deleted row inside immutable files until they are rewritten, and
        neither rewrites a file for one deleted row; so both are rebuilt from the cube files (`cubes`:
        every cube of the shard), and tantivy's unused files are removed. Each cube file that had
        deletions (`deleted_in`) gets its WAL truncated. The old Lance versions go in a second call,
        `purge_old_versions`, once the front door's readers have moved to the new one."""
        rebuilt = self.rebuild(cubes)
        self._lexical.collect_garbage()
        scrubbed = sum(self._store(cube).scrub() for cube in deleted_in if self._paths.cube_db(cube).exists())
        return {**rebuilt, "scrubbed": scrubbed}

    def purge_old_versions(self) -> int:
        """Every Lance version but the latest removed, with the files only they used."""
        return self._vectors.purge_old_versions()

    def rebuild(self, cubes: list[str]) -> dict[str, int]:
        """Rebuild this shard's Lance table and tantivy index from the given cubes' SQLite files."""
        present = [c for c in cubes if self._paths.cube_db(c).exists()]

        def rows():
            for cube in present:
                yield from self._store(cube).index_rows()

        def rows_with_context():
            for cube in present:
                store = self._store(cube)
                text = contexts(store.thread_rows(), None, self._window) if self._window.reach else {}
                for row in store.index_rows():
                    row.context = text.get(row.id)
                    yield row

        n_vectors = self._vectors.rebuild(rows())
        n_docs = self._lexical.rebuild(rows_with_context())
        self.settle()  # an overwritten table has no index yet
        return {"cubes": len(present), "vectors": n_vectors, "documents": n_docs}

    def close(self) -> None:
        self._lexical.close()
        for store in self._stores.values():
            store.close()
