"""World facts of a cube grouped by subject, each with its confidence, validity and supersession chain.

A page is one page of the cube's world tier, newest first (the memory list's cursor), so browsing
never reads the whole cube; facts on it are grouped by subject, and each names the facts it
superseded and those that superseded it (`supersedes` links).
"""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller, Role
from pipeline.records import Status, Tier
from service.access import Access
from service.views import memory_view
from storage.cube.reader import decode_cursor
from storage.read_side import ReadSide

SUPERSEDES = "supersedes"  # src (the newer fact) supersedes dst


class WorldView:
    def __init__(self, access: Access, read: ReadSide) -> None:
        self._access, self._read = access, read

    def page(self, caller: Caller, cube_id: str | None, limit: int, cursor: str | None,
             status: str | None = None) -> dict[str, Any]:
        """`{"cube", "subjects": [{"subject", "facts": [...]}], "next_cursor"}`; status None: every status."""
        cube = self._access.require(caller, cube_id, Role.READ)
        if cursor is not None:
            decode_cursor(cursor)
        with self._read.cube(cube.id) as store:
            if store is None:
                return {"cube": cube.id, "subjects": [], "next_cursor": None}
            page = store.list(limit=limit, cursor=cursor, tier=Tier.WORLD.value, status=status)
            ids = [r.id for r in page.items]
            newer_of: dict[str, list[str]] = {}
            older_of: dict[str, list[str]] = {}
            for src, dst in store.links_from(ids, SUPERSEDES):
                older_of.setdefault(src, []).append(dst)
                newer_of.setdefault(dst, []).append(src)
            for rec in page.items:  # a fact superseded by one not on this page
                if rec.status == Status.SUPERSEDED and rec.id not in newer_of:
                    newer_of[rec.id] = [l["src"] for l in store.links_of(rec.id)
                                        if l["type"] == SUPERSEDES and l["dst"] == rec.id]
        groups: dict[str, list[dict[str, Any]]] = {}
        for rec in page.items:
            fact = rec.metadata
            subject = str(fact.get("subject") or "(no subject)")
            groups.setdefault(subject, []).append({
                **memory_view(rec),
                "predicate": fact.get("predicate"), "object": fact.get("object"),
                "polarity": fact.get("polarity", True), "relation": fact.get("relation"),
                "confidence": fact.get("confidence"),
                "supersedes": sorted(older_of.get(rec.id, [])), "superseded_by": sorted(newer_of.get(rec.id, [])),
            })
        subjects = [{"subject": s, "facts": groups[s]} for s in sorted(groups, key=str.casefold)]
        return {"cube": cube.id, "subjects": subjects, "next_cursor": page.next_cursor}
