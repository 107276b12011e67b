"""The filter a search carries into every index: kinds, tags (any of), tiers and a time range."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchFilter:
    kinds: frozenset[str] | None = None
    tags: frozenset[str] | None = None
    tiers: frozenset[str] | None = None
    since: int | None = None  # ms since epoch, inclusive
    until: int | None = None  # ms since epoch, exclusive

    @property
    def empty(self) -> bool:
        return not (self.kinds or self.tags or self.tiers) and self.since is None and self.until is None

    def admits(self, kind: str, tier: str, tags: frozenset[str] | set[str], created_at: int) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        if self.tiers and tier not in self.tiers:
            return False
        if self.tags and not (self.tags & set(tags)):
            return False
        if self.since is not None and created_at < self.since:
            return False
        if self.until is not None and created_at >= self.until:
            return False
        return True
