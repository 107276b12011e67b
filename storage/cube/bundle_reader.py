"""Reading a whole cube for an interchange bundle, and looking up what an import would touch.

An export reads inside one read transaction, so the bundle is one snapshot of the cube even while
the write actor keeps writing (WAL readers see the file as of their first read). Everything is
read in keyset-paged chunks, so memory stays flat however large the cube.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from pipeline.records import MemoryRecord
from storage.cube.reader import CubeReader
from storage.cube.schema import RECORD_COLUMNS, chunks, record_from


class BundleReader(CubeReader):
    """A read connection for exports and import planning (never used to write)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._in_snapshot = False

    def __enter__(self) -> BundleReader:
        self._conn.execute("BEGIN")
        self._in_snapshot = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._in_snapshot:
            self._conn.execute("COMMIT")
            self._in_snapshot = False
        self.close()

    def record_chunks(self, size: int = 1_000) -> Iterator[list[tuple[MemoryRecord, bytes | None, str | None]]]:
        """Every memory (any status), oldest first, with its stored vector and the model that made it."""
        after: tuple[int, str] = (-(2**62), "")
        while True:
            rows = list(self._conn.execute(
                f"SELECT {RECORD_COLUMNS}, embedding, embed_model FROM memories WHERE (created_at, id) > (?, ?) "
                "ORDER BY created_at, id LIMIT ?", (*after, size)))
            if not rows:
                return
            out = [(record_from(r[:-2]), r[-2], r[-1]) for r in rows]
            yield out
            after = (out[-1][0].created_at, out[-1][0].id)

    def versions_of(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Earlier versions of each memory, oldest first."""
        out: dict[str, list[dict[str, Any]]] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for r in self._conn.execute(
                f"SELECT id, version, kind, content, tags, metadata, updated_at FROM memory_versions "
                f"WHERE id IN ({marks}) ORDER BY id, version", chunk):
                out.setdefault(r[0], []).append({"version": r[1], "kind": r[2], "content": r[3],
                                                 "tags": orjson.loads(r[4]), "metadata": orjson.loads(r[5]),
                                                 "updated_at": r[6]})
        return out

    def feedback_events(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Feedback events of each memory, in the order they were applied."""
        out: dict[str, list[dict[str, Any]]] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for r in self._conn.execute(
                f"SELECT memory_id, signal, note, agent, at FROM feedback WHERE memory_id IN ({marks}) ORDER BY seq",
                chunk):
                out.setdefault(r[0], []).append({"signal": r[1], "note": r[2], "agent": r[3], "at": r[4]})
        return out

    def all_episodes(self, size: int = 1_000) -> Iterator[dict[str, Any]]:
        last = ""
        while True:
            rows = list(self._conn.execute(
                "SELECT id, task, agent, outcome, opened_at, closed_at, task_vector FROM episodes WHERE id > ? "
                "ORDER BY id LIMIT ?", (last, size)))
            if not rows:
                return
            for r in rows:
                yield {"id": r[0], "task": r[1], "agent": r[2], "outcome": r[3], "opened_at": r[4],
                       "closed_at": r[5], "task_vector": np.frombuffer(r[6], dtype=np.float32) if r[6] else None}
            last = rows[-1][0]

    def links_by_src(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The links that start at each memory, by type then target."""
        out: dict[str, list[dict[str, Any]]] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for r in self._conn.execute(
                f"SELECT src, type, dst, created_at, metadata FROM links WHERE src IN ({marks}) ORDER BY src, type, dst",
                chunk):
                out.setdefault(r[0], []).append({"src": r[0], "type": r[1], "dst": r[2], "created_at": r[3],
                                                 "metadata": orjson.loads(r[4])})
        return out

    def superseders(self, ids: Sequence[str]) -> dict[str, str]:
        """For each memory a newer one supersedes, the newest such memory."""
        out: dict[str, str] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for dst, src in self._conn.execute(
                f"SELECT dst, src FROM links WHERE type = 'supersedes' AND dst IN ({marks}) ORDER BY created_at, src",
                chunk):
                out[dst] = src
        return out

    def embed_models(self) -> dict[str, int]:
        """How many stored vectors each model made."""
        return {r[0]: r[1] for r in self._conn.execute(
            "SELECT embed_model, count(*) FROM memories WHERE embedding IS NOT NULL GROUP BY embed_model")}

    # --- what an import would touch ----------------------------------------------------------

    def records_by_id(self, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        return self.get_many(ids)

    def episodes_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for r in self._conn.execute(
                f"SELECT id, task, agent, outcome, opened_at, closed_at FROM episodes WHERE id IN ({marks})", chunk):
                out[r[0]] = {"id": r[0], "task": r[1], "agent": r[2], "outcome": r[3], "opened_at": r[4],
                             "closed_at": r[5]}
        return out

    def link_keys(self, srcs: Sequence[str]) -> set[tuple[str, str, str]]:
        out: set[tuple[str, str, str]] = set()
        for chunk in chunks(list(dict.fromkeys(srcs)), 500):
            marks = ",".join("?" * len(chunk))
            out |= {(r[0], r[1], r[2]) for r in self._conn.execute(
                f"SELECT src, type, dst FROM links WHERE src IN ({marks})", chunk)}
        return out
