"""mem0's entity ids (user_id, agent_id, app_id, run_id) as MemOS sees them, and mem0's `filters`.

A memory written through the mem0 endpoints carries its entity ids twice: in `metadata.mem0` (what the
views read back) and as tags `mem0.user:<id>` etc. (what search and list filter on inside the indexes).
A run is also an episode of the caller's cube (`episode_id`), so a run's messages form one thread.
`filters` are read into an OR of ANDs over entity ids; anything else mem0 can filter on is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.errors import Invalid
from pipeline.ids import is_memory_id

ENTITIES = ("user_id", "agent_id", "app_id", "run_id")
TAG_PREFIX = "mem0."
SCOPE_KEY = "mem0"  # the metadata key holding a memory's mem0 scope
ENTITY_MAX = 100
# What mem0 itself refuses in an entity id (whitespace) and what a tag may not hold (control characters).
BAD_ENTITY = re.compile(r"[\s\x00-\x1f\x7f]")
MAX_GROUPS = 64  # an AND of ORs multiplies out; past this the filter is refused rather than expanded


def entity_value(name: str, value: Any) -> str:
    """An entity id as mem0 accepts it: a string (or a number, as text), trimmed, with no inner whitespace."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid(f"{name} must be a string")
    text = str(value).strip()
    if not text or len(text) > ENTITY_MAX or BAD_ENTITY.search(text):
        raise Invalid(f"{name} must be 1 to {ENTITY_MAX} characters without whitespace")
    return text


def entity_scope(values: Mapping[str, Any]) -> dict[str, str]:
    """The entity ids a write names (at least one, as mem0 requires)."""
    scope = {name: entity_value(name, values[name]) for name in ENTITIES if values.get(name) is not None}
    if not scope:
        raise Invalid("at least one of user_id, agent_id, app_id or run_id is required")
    return scope


def entity_tag(name: str, value: str) -> str:
    return f"{TAG_PREFIX}{name.removesuffix('_id')}:{value}"


def scope_tags(scope: Mapping[str, str]) -> list[str]:
    return [entity_tag(name, value) for name, value in scope.items()]


def is_scope_tag(tag: str) -> bool:
    return tag.startswith(TAG_PREFIX)


def episode_id(run_id: str) -> str:
    """The episode a run's messages belong to; a run id that is not a valid memory id is hashed."""
    plain = f"mem0-run-{run_id}"
    return plain if is_memory_id(plain) else f"mem0-run-{hashlib.sha256(run_id.encode()).hexdigest()[:32]}"


def expiration(value: Any) -> str | None:
    """A `YYYY-MM-DD` expiration date, checked; None clears it."""
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise Invalid("expiration_date must be a date in YYYY-MM-DD format") from None


def expired(expiration_date: str | None, today: date) -> bool:
    """mem0 shows a memory through its expiration date and hides it after."""
    return expiration_date is not None and date.fromisoformat(expiration_date) < today


def scope_of(metadata: Mapping[str, Any]) -> dict[str, Any]:
    found = metadata.get(SCOPE_KEY)
    return found if isinstance(found, dict) else {}


@dataclass(frozen=True)
class Condition:
    field: str
    values: frozenset[str] | None  # None: any value, as long as there is one (mem0's `*`)

    def holds(self, scope: Mapping[str, Any]) -> bool:
        value = scope.get(self.field)
        return value is not None and (self.values is None or value in self.values)


@dataclass(frozen=True)
class ScopeFilter:
    """mem0 `filters` over entity ids: any group may hold, and within a group every condition."""

    groups: tuple[tuple[Condition, ...], ...]

    def admits(self, metadata: Mapping[str, Any]) -> bool:
        scope = scope_of(metadata)
        return any(all(c.holds(scope) for c in group) for group in self.groups)

    def tags(self) -> frozenset[str] | None:
        """Tags of which an admitted memory has at least one (the indexes filter on them), or None when
        a group names no value (only `*`) and the filter must be applied to what comes back."""
        found: set[str] = set()
        for group in self.groups:
            named = [c for c in group if c.values is not None]
            if not named:
                return None
            narrowest = min(named, key=lambda c: len(c.values or ()))
            found.update(entity_tag(narrowest.field, v) for v in narrowest.values or ())
        return frozenset(found)

    @property
    def exact(self) -> bool:
        """Whether the tags alone decide (one equality per group), so nothing needs filtering after."""
        return self.tags() is not None and all(len(g) == 1 for g in self.groups)


def _condition(name: str, value: Any) -> Condition:
    if value == "*":
        return Condition(name, None)
    if isinstance(value, Mapping):
        if set(value) == {"in"} and isinstance(value["in"], list) and value["in"]:
            return Condition(name, frozenset(entity_value(name, v) for v in value["in"]))
        if set(value) == {"eq"}:
            return Condition(name, frozenset({entity_value(name, value["eq"])}))
        raise Invalid(f"filter on {name} supports a value, \"*\", {{\"in\": [...]}} or {{\"eq\": ...}}")
    return Condition(name, frozenset({entity_value(name, value)}))


def _groups(filters: Mapping[str, Any]) -> list[tuple[Condition, ...]]:
    """`filters` multiplied out into an OR of ANDs."""
    groups: list[tuple[Condition, ...]] = [()]
    for key, value in filters.items():
        if key in ("AND", "OR"):
            if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
                raise Invalid(f"filters.{key} must be a non-empty list of filter objects")
            parts = [_groups(v) for v in value]
            if key == "OR":
                alternatives = [g for part in parts for g in part]
            else:
                alternatives = [()]
                for part in parts:
                    alternatives = [a + b for a in alternatives for b in part]
            groups = [g + a for g in groups for a in alternatives]
        elif key in ENTITIES:
            condition = _condition(key, value)
            groups = [g + (condition,) for g in groups]
        else:
            raise Invalid(f"filters on {key!r} are not supported here; filter on user_id, agent_id, app_id "
                          "or run_id (with AND, OR, \"in\" or \"*\")")
        if len(groups) > MAX_GROUPS:
            raise Invalid(f"filters expand to more than {MAX_GROUPS} alternatives")
    return groups


def parse_filters(filters: Any) -> ScopeFilter:
    """mem0 `filters` (every alternative must name an entity id, as mem0 requires)."""
    if not isinstance(filters, Mapping) or not filters:
        raise Invalid("filters must name at least one of user_id, agent_id, app_id or run_id")
    groups = _groups(filters)
    if any(not group for group in groups):
        raise Invalid("every alternative in filters must name one of user_id, agent_id, app_id or run_id")
    return ScopeFilter(tuple(groups))


def flat_filter(values: Mapping[str, Any]) -> ScopeFilter:
    """The filter of query parameters or top-level fields: every entity id given must match."""
    return parse_filters({k: values[k] for k in ENTITIES if values.get(k) is not None})
