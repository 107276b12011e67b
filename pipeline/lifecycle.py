"""A memory's lifecycle as pure rules: expiry, what a cleanup filter selects, retention rules, and
what each cleanup action makes of a memory (service/cleanup.py and service/retention.py apply them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pipeline.errors import Invalid
from pipeline.records import MemoryRecord, Status, Tier

ALL_STATUSES = "all"


def alive(rec: MemoryRecord, now: int) -> bool:
    """Whether a memory is still shown at `now` (ms): an expired one leaves every read at once."""
    return rec.expires_at is None or rec.expires_at > now


class Action(StrEnum):
    DELETE = "delete"
    ARCHIVE = "archive"
    RESTORE = "restore"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"
    MOVE = "move"


# What each action changes the selection's default status to: a restore looks at archived memories.
_DEFAULT_STATUS = {Action.RESTORE: Status.ARCHIVED.value}


@dataclass(frozen=True)
class CleanupFilter:
    """Which memories of one cube a cleanup touches; every condition given must hold (AND).

    Keys are named like GET /v1/memories' query. `status` None means the action's default
    (archived for restore, else active), unless `duplicates` or `superseded` names the status.
    """

    cube: str | None = None
    tier: str | None = None
    kind: str | None = None
    tags: tuple[str, ...] = ()  # memories holding every one of these tags
    status: str | None = None  # a status, or "all"
    before: int | None = None  # created before (ms)
    after: int | None = None  # created at or after (ms)
    duplicates: bool = False  # exact duplicates (status duplicate)
    superseded: bool = False  # world facts a newer fact replaced (status superseded)
    feedback_at_most: int | None = None  # net feedback score at most this
    never_retrieved: bool = False  # never returned by a search
    query: str | None = None  # every word of it in the content (case-insensitive)

    def words(self) -> list[str]:
        return (self.query or "").casefold().split()

    def statuses(self, action: Action | None) -> tuple[str, ...] | None:
        """The statuses the selection keeps (None: any)."""
        if self.duplicates or self.superseded:
            wanted = {Status.DUPLICATE.value} if self.duplicates else set()
            wanted |= {Status.SUPERSEDED.value} if self.superseded else set()
            if self.status not in (None, ALL_STATUSES) and self.status not in wanted:
                return ()  # asked for both a status and another one: nothing holds both
            return tuple(sorted(wanted)) if len(wanted) == 1 else ()
        if self.status == ALL_STATUSES:
            return None
        if self.status is not None:
            return (self.status,)
        return (_DEFAULT_STATUS.get(action, Status.ACTIVE.value),) if action is not None else (Status.ACTIVE.value,)

    def tier_wanted(self) -> str | None:
        if self.superseded:
            if self.tier not in (None, Tier.WORLD.value):
                return "\x00none"  # superseded facts are world memories: another tier holds none
            return Tier.WORLD.value
        return self.tier

    def check(self) -> None:
        # A `before` not after `after` is an empty range: it selects nothing, like any filter nothing meets.
        if self.query is not None and not self.words():
            raise Invalid("filter.query must hold at least one word")


def content_matches(content: str, words: list[str]) -> bool:
    text = content.casefold()
    return all(w in text for w in words)


@dataclass(frozen=True)
class CleanupAction:
    action: Action
    tag: str | None = None  # add_tag, remove_tag
    to: str | None = None  # move: the target cube

    def check(self) -> None:
        if self.action in (Action.ADD_TAG, Action.REMOVE_TAG) and not self.tag:
            raise Invalid(f"action {self.action.value} needs a tag")
        if self.action is Action.MOVE and not self.to:
            raise Invalid("action move needs `to`, the cube to move the memories into")
        if self.action not in (Action.ADD_TAG, Action.REMOVE_TAG) and self.tag is not None:
            raise Invalid(f"action {self.action.value} takes no tag")
        if self.action is not Action.MOVE and self.to is not None:
            raise Invalid(f"action {self.action.value} takes no `to`")


def changes(rec: MemoryRecord, act: CleanupAction) -> bool:
    """Whether the action would change this memory (a tag already there is not added again)."""
    if act.action is Action.ADD_TAG:
        return act.tag not in rec.tags
    if act.action is Action.REMOVE_TAG:
        return act.tag in rec.tags
    if act.action is Action.ARCHIVE:
        return rec.status == Status.ACTIVE
    if act.action is Action.RESTORE:
        return rec.status == Status.ARCHIVED
    return True


def tags_after(rec: MemoryRecord, act: CleanupAction) -> list[str]:
    if act.action is Action.ADD_TAG:
        return [*rec.tags, act.tag] if act.tag not in rec.tags else list(rec.tags)
    if act.action is Action.REMOVE_TAG:
        return [t for t in rec.tags if t != act.tag]
    return list(rec.tags)


# --- retention rules ---------------------------------------------------------------------------

RETENTION_ACTIONS = (Action.DELETE, Action.ARCHIVE)
MAX_RULES_PER_CUBE = 50


@dataclass(frozen=True)
class RetentionRule:
    """A standing cleanup the sweeper applies to one cube: memories matching the selectors that are
    older than `max_age_s`, or beyond the newest `max_count` of their kind, are deleted or archived."""

    id: str
    tier: str | None = None
    kind: str | None = None
    tag: str | None = None
    status: str = Status.ACTIVE.value
    max_age_s: int | None = None
    max_count: int | None = None  # per kind
    action: Action = Action.DELETE
    created_by: str = ""
    created_at: int = 0

    def check(self) -> None:
        if (self.max_age_s is None) == (self.max_count is None):
            raise Invalid("a retention rule sets exactly one of max_age_s and max_count")
        if self.action not in RETENTION_ACTIONS:
            raise Invalid("a retention rule's action is delete or archive")
        if self.action is Action.ARCHIVE and self.status != Status.ACTIVE:
            raise Invalid("only active memories can be archived; an archive rule keeps status active")

    def selection(self, now: int) -> CleanupFilter:
        """The memories the rule looks at (for max_age_s: only those old enough)."""
        before = now - self.max_age_s * 1000 if self.max_age_s is not None else None
        return CleanupFilter(tier=self.tier, kind=self.kind, tags=(self.tag,) if self.tag else (),
                             status=self.status, before=before)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "tier": self.tier, "kind": self.kind, "tag": self.tag, "status": self.status,
                "max_age_s": self.max_age_s, "max_count": self.max_count, "action": self.action.value,
                "created_by": self.created_by, "created_at": self.created_at}

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> RetentionRule:
        return cls(**{**values, "action": Action(values.get("action", "delete"))})  # type: ignore[arg-type]


def beyond_count(rows: Iterable[tuple[str, str, int]], max_count: int) -> list[str]:
    """Of (id, kind, created_at) rows, the ids past the newest `max_count` of each kind (ties: larger id newer)."""
    by_kind: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for memory_id, kind, created_at in rows:
        by_kind[kind].append((created_at, memory_id))
    out: list[str] = []
    for kind in sorted(by_kind):
        newest_first = sorted(by_kind[kind], reverse=True)
        out += [memory_id for _, memory_id in newest_first[max_count:]]
    return out
