"""Episodes of a cube, a page at a time, for the web UI's list (EpisodeService reads one at a time)."""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller, Role
from pipeline.errors import Invalid
from pipeline.timefmt import to_iso
from service.access import Access
from storage.cube.episode_list import decode_episode_cursor, episode_page
from storage.paths import DataPaths

OUTCOMES = ("success", "failure", "unknown")


class EpisodeListing:
    def __init__(self, access: Access, paths: DataPaths) -> None:
        self._access, self._paths = access, paths

    def page(self, caller: Caller, cube_id: str | None, limit: int, cursor: str | None,
             outcome: str | None = None) -> dict[str, Any]:
        """Newest first, in a cube the caller may read (default: its own); `next_cursor` pages on."""
        if outcome is not None and outcome not in OUTCOMES:
            raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}")
        cube = self._access.require(caller, cube_id, Role.READ)
        if cursor is not None:
            decode_episode_cursor(cursor)  # a bad cursor is an error even where there is nothing to list
        found = episode_page(self._paths.cube_db(cube.id), limit, cursor, outcome)
        items = [{
            "id": e.id, "cube": cube.id, "task": e.task, "agent": e.agent,
            "status": "closed" if e.closed_at is not None else "open", "outcome": e.outcome,
            "opened_at": to_iso(e.opened_at), "closed_at": to_iso(e.closed_at) if e.closed_at is not None else None,
            "traces": e.traces,
        } for e in found.items]
        return {"cube": cube.id, "items": items, "next_cursor": found.next_cursor}
