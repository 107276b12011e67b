"""`GET /v1/cubes/{id}/report` and `memos report`: what a cube holds and what could be tidied, per cube."""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller, Role
from pipeline.timefmt import now_ms, to_iso
from service.access import Access
from storage.cube_report import read_tables, report, size_on_disk
from storage.lifecycle_store import LifecycleStore
from storage.paths import DataPaths
from storage.read_side import ReadSide

SNIPPET_CHARS = 120


class GovernanceReport:
    def __init__(self, access: Access, paths: DataPaths, read: ReadSide, store: LifecycleStore) -> None:
        self._access, self._paths, self._read, self._store = access, paths, read, store

    def report(self, caller: Caller, cube_id: str | None) -> dict[str, Any]:
        """The cube's figures; reading them takes read on the cube."""
        cube = self._access.require(caller, cube_id, Role.READ)
        files = [*self._paths.cube_files(cube.id), self._paths.blobs_dir(cube.id)]
        now = now_ms()
        tables = read_tables(self._paths.cube_db(cube.id))
        figures = report(*tables, self._store.retrieved_ids(cube.id), now) if tables is not None else _empty()
        oldest = figures.pop("oldest")
        with self._read.cube(cube.id) as store:
            records = store.get_many([o["id"] for o in oldest]) if store is not None and oldest else {}
        figures["oldest"] = [{**o, "created_at": to_iso(o["created_at"]),
                              "content": records[o["id"]].content[:SNIPPET_CHARS] if o["id"] in records else ""}
                             for o in oldest]
        rules = self._store.rules(cube.id)
        return {"cube": cube.id, "generated_at": to_iso(now), "size_bytes": size_on_disk(files),
                "retention_rules": len(rules), **figures}


def _empty() -> dict[str, Any]:
    zero = ("total", "active", "duplicates", "duplicate_groups", "superseded_facts", "archived", "expiring",
            "expired_unswept", "never_retrieved")
    return {**{k: 0 for k in zero}, "by_tier": [], "by_kind": [], "by_status": [], "by_tag": [], "by_age": [],
            "oldest": []}
