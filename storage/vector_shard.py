"""A shard's vectors in one LanceDB table (cube id a column); cold and very large cubes search here."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa

from pipeline.errors import StoreError
from pipeline.filters import SearchFilter
from pipeline.records import IndexRow
from storage.disk_space import full_disk, is_disk_full, nearly_full

TABLE = "vectors"
log = logging.getLogger(__name__)


def table_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("key", pa.string()),
            ("id", pa.string()),
            ("cube", pa.string()),
            ("kind", pa.string()),
            ("tier", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("created_at", pa.int64()),
            ("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def sql_string(value: str) -> str:
    """A SQL string literal; the only way values enter a Lance filter."""
    return "'" + value.replace("'", "''") + "'"


def where_clause(cubes: Sequence[str], filt: SearchFilter | None) -> str:
    parts = [f"cube IN ({', '.join(sql_string(c) for c in cubes)})"]
    if filt is not None:
        if filt.kinds:
            parts.append(f"kind IN ({', '.join(sql_string(k) for k in sorted(filt.kinds))})")
        if filt.tiers:
            parts.append(f"tier IN ({', '.join(sql_string(t) for t in sorted(filt.tiers))})")
        if filt.tags:
            parts.append(f"array_has_any(tags, [{', '.join(sql_string(t) for t in sorted(filt.tags))}])")
        if filt.since is not None:
            parts.append(f"created_at >= {int(filt.since)}")
        if filt.until is not None:
            parts.append(f"created_at < {int(filt.until)}")
    return " AND ".join(parts)


def to_table(rows: Sequence[IndexRow], dim: int) -> pa.Table:
    vectors = np.stack([np.asarray(r.vector, dtype=np.float32) for r in rows]) if rows else np.zeros((0, dim), np.float32)
    return pa.table(
        {
            "key": [f"{r.cube}\x1f{r.id}" for r in rows],
            "id": [r.id for r in rows],
            "cube": [r.cube for r in rows],
            "kind": [r.kind for r in rows],
            "tier": [r.tier for r in rows],
            "tags": [list(r.tags) for r in rows],
            "created_at": [int(r.created_at) for r in rows],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim),
        },
        schema=table_schema(dim),
    )


class VectorShard:
    def __init__(self, path: Path, dim: int, *, create: bool) -> None:
        self.dim, self.path = dim, path
        try:
            self._db = lancedb.connect(str(path))
            if create:
                self._table = self._db.create_table(TABLE, schema=table_schema(dim), exist_ok=True)
            else:
                self._table = self._db.open_table(TABLE)
        except (OSError, ValueError, RuntimeError) as exc:
            raise StoreError(f"vector shard {path}: {exc}") from exc

    def upsert(self, rows: Sequence[IndexRow]) -> None:
        rows = [r for r in rows if r.vector is not None]
        if rows:
            with self._writing():
                (
                    self._table.merge_insert("key")
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute(to_table(rows, self.dim))
                )

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        literals = [sql_string(f"{cube}\x1f{memory_id}") for cube, memory_id in keys]
        with self._writing():
            for i in range(0, len(literals), 500):
                self._table.delete(f"key IN ({', '.join(literals[i : i + 500])})")

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A full disk said as one (507, retried when space frees), not as a store fault."""
        try:
            yield
        except (OSError, ValueError, RuntimeError) as exc:
            if is_disk_full(exc) or nearly_full(self.path):
                raise full_disk("vector index") from exc
            raise

    def drop_cube(self, cube: str) -> None:
        self._table.delete(f"cube = {sql_string(cube)}")

    def rebuild(self, rows: Iterable[IndexRow], chunk: int = 5_000) -> int:
        """Overwrite the table with `rows` as one new version (readers switch atomically)."""
        count = 0

        def batches() -> Iterator[pa.RecordBatch]:
            nonlocal count
            buf: list[IndexRow] = []
            for row in rows:
                if row.vector is None:
                    continue
                buf.append(row)
                if len(buf) >= chunk:
                    count += len(buf)
                    yield from to_table(buf, self.dim).to_batches()
                    buf = []
            count += len(buf)
            yield from to_table(buf, self.dim).to_batches()

        reader = pa.RecordBatchReader.from_batches(table_schema(self.dim), batches())
        self._table = self._db.create_table(TABLE, data=reader, mode="overwrite")
        return count

    def compact(self) -> None:
        """Merge small fragments and drop versions no reader should still hold."""
        self._table.optimize(cleanup_older_than=timedelta(minutes=2))

    def purge_old_versions(self) -> int:
        """Remove every version but the latest, and the files only they used (a purge: the rows a
        delete hid live on in older versions). A reader still on an older version must refresh first."""
        versions = len(self._table.list_versions())
        with warnings.catch_warnings():  # the warning says what the docstring says
            warnings.simplefilter("ignore", UserWarning)
            self._table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
        return versions - len(self._table.list_versions())

    def refresh(self) -> None:
        self._table.checkout_latest()

    def count(self, cube: str | None = None) -> int:
        return self._table.count_rows(None if cube is None else f"cube = {sql_string(cube)}")

    def has_ann_index(self) -> bool:
        return any(i.index_type.upper().startswith("IVF") for i in self._table.list_indices())

    def build_ann_index(self) -> int:
        """IVF with int8 scalar-quantized vectors (~√rows partitions) and a bitmap on `cube`.

        Measured here at 100k: IVF_SQ builds in 13 s with recall@10 ≈ 0.97 at 20 probes; IVF_PQ
        took 147 s for about the same query time.
        """
        from lancedb.index import Bitmap, IvfSq

        rows = self._table.count_rows()
        self._table.create_index("vector", config=IvfSq(distance_type="cosine",
                                                        num_partitions=max(1, int(rows**0.5))), replace=True)
        self._table.create_index("cube", config=Bitmap(), replace=True)
        return rows

    def search(
        self,
        query: np.ndarray,
        cubes: Sequence[str],
        k: int,
        filt: SearchFilter | None = None,
        *,
        nprobes: int = 20,
        refine_factor: int = 0,
    ) -> list[tuple[str, str, float]]:
        """(cube, id, cosine similarity) of the k nearest rows among the given cubes."""
        if not cubes or k <= 0:
            return []
        search = (
            self._table.search(np.asarray(query, dtype=np.float32), vector_column_name="vector")
            .metric("cosine")
            .where(where_clause(cubes, filt), prefilter=True)
            .nprobes(nprobes)
        )
        if refine_factor:
            search = search.refine_factor(refine_factor)
        result = search.select(["id", "cube", "_distance"]).limit(k).to_arrow()
        return [
            (cube, memory_id, 1.0 - float(dist))
            for cube, memory_id, dist in zip(
                result["cube"].to_pylist(), result["id"].to_pylist(), result["_distance"].to_pylist()
            )
        ]
