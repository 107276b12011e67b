"""Loading a cube's EpisodeBook (open episodes, unclaimed closed ones, skills) from its file."""

from __future__ import annotations

from pipeline.crystallize.skill import Skill
from pipeline.crystallize_stage import POOL_LIMIT, EpisodeBook, OpenEpisode, trace_from
from pipeline.episodes import Episode, EpisodeTrace, Outcome
from storage.cube.reader import CubeReader


def _traces(store: CubeReader, episode_id: str) -> list[EpisodeTrace]:
    return [trace_from(r.id, r.kind, r.content, r.tool, r.metadata, r.created_at)
            for r in store.episode_traces(episode_id)]


def load_book(store: CubeReader) -> EpisodeBook:
    book = EpisodeBook()
    for skill in store.skills():
        book.skills[skill["id"]] = Skill.from_dict(skill)
    claimed = frozenset().union(*(s.evidence for s in book.skills.values())) if book.skills else frozenset()
    for ep in store.episode_rows(closed=False, limit=10_000):
        book.open[ep["id"]] = OpenEpisode(ep["task"], ep["opened_at"], _traces(store, ep["id"]))
    for ep in reversed(store.episode_rows(closed=True, limit=POOL_LIMIT * 5)):
        book.closed.add(ep["id"])
        if ep["id"] in claimed or len(book.pool) >= POOL_LIMIT:
            continue
        book.pool.append(Episode(ep["id"], ep["task"], Outcome(ep["outcome"]), tuple(_traces(store, ep["id"])),
                                 ep["task_vector"], ep["closed_at"]))
    return book
