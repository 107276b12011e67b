"""The lifecycle's pure rules: expiry, what a cleanup filter selects by default, retention rules."""

from __future__ import annotations

import pytest

from pipeline.errors import Invalid
from pipeline.lifecycle import (
    Action, CleanupAction, CleanupFilter, RetentionRule, alive, beyond_count, changes, content_matches, tags_after,
)
from pipeline.records import MemoryRecord


def record(**values) -> MemoryRecord:
    base = {"id": "m1", "cube": "agent-a", "agent": "a", "tier": "trace", "kind": "note", "content": "x",
            "tags": ["keep"], "metadata": {}, "created_at": 1, "updated_at": 1}
    return MemoryRecord(**{**base, **values})


def test_a_memory_is_alive_until_its_expiry_and_not_at_it():
    assert alive(record(), 10**15)
    assert alive(record(expires_at=1000), 999)
    assert not alive(record(expires_at=1000), 1000)


def test_the_default_status_follows_the_action_and_duplicates_name_their_own():
    assert CleanupFilter().statuses(Action.DELETE) == ("active",)
    assert CleanupFilter().statuses(Action.RESTORE) == ("archived",)
    assert CleanupFilter(status="all").statuses(Action.DELETE) is None
    assert CleanupFilter(duplicates=True).statuses(Action.DELETE) == ("duplicate",)
    assert CleanupFilter(superseded=True).statuses(Action.DELETE) == ("superseded",)
    assert CleanupFilter(superseded=True).tier_wanted() == "world"
    # Conditions are ANDed: a memory is never both a duplicate and superseded, nor duplicate and archived.
    assert CleanupFilter(duplicates=True, superseded=True).statuses(Action.DELETE) == ()
    assert CleanupFilter(duplicates=True, status="archived").statuses(Action.DELETE) == ()


def test_a_filter_with_an_empty_query_is_refused():
    with pytest.raises(Invalid):
        CleanupFilter(query="   ").check()
    CleanupFilter(before=6, after=5, query="Tea").check()
    assert content_matches("Alice likes TEA and cake", CleanupFilter(query="tea alice").words())
    assert not content_matches("Alice likes coffee", CleanupFilter(query="tea alice").words())


def test_an_action_names_exactly_what_it_needs():
    for bad in (CleanupAction(Action.ADD_TAG), CleanupAction(Action.MOVE), CleanupAction(Action.DELETE, tag="x"),
                CleanupAction(Action.ARCHIVE, to="agent-b")):
        with pytest.raises(Invalid):
            bad.check()
    CleanupAction(Action.MOVE, to="agent-b").check()


def test_an_action_changes_only_memories_it_would_alter():
    rec = record()
    assert not changes(rec, CleanupAction(Action.ADD_TAG, tag="keep"))
    assert changes(rec, CleanupAction(Action.ADD_TAG, tag="new"))
    assert tags_after(rec, CleanupAction(Action.ADD_TAG, tag="new")) == ["keep", "new"]
    assert tags_after(rec, CleanupAction(Action.REMOVE_TAG, tag="keep")) == []
    assert changes(rec, CleanupAction(Action.ARCHIVE)) and not changes(rec, CleanupAction(Action.RESTORE))
    assert changes(record(status="archived"), CleanupAction(Action.RESTORE))


def test_max_count_keeps_the_newest_of_each_kind():
    rows = [("a", "note", 1), ("b", "note", 3), ("c", "note", 2), ("d", "message", 1), ("e", "message", 5)]
    assert sorted(beyond_count(rows, 1)) == ["a", "c", "d"]
    assert beyond_count(rows, 3) == []
    assert sorted(beyond_count(rows, 0)) == ["a", "b", "c", "d", "e"]


def test_a_retention_rule_sets_one_limit_and_selects_by_age():
    with pytest.raises(Invalid):
        RetentionRule("r").check()
    with pytest.raises(Invalid):
        RetentionRule("r", max_age_s=1, max_count=1).check()
    with pytest.raises(Invalid):
        RetentionRule("r", max_count=1, action=Action.ARCHIVE, status="duplicate").check()
    rule = RetentionRule("r", kind="note", tag="tmp", max_age_s=60)
    rule.check()
    assert rule.selection(100_000) == CleanupFilter(kind="note", tags=("tmp",), status="active", before=40_000)
    assert RetentionRule.from_dict(rule.as_dict()) == rule
