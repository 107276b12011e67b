"""mem0's entity ids and `filters` as MemOS reads them (api/mem0_compat/scopes.py): pure, no server."""

from __future__ import annotations

from datetime import date

import pytest

from api.mem0_compat.scopes import (
    MAX_GROUPS, Condition, entity_scope, episode_id, expired, parse_filters, scope_tags,
)
from pipeline.errors import Invalid
from pipeline.ids import is_memory_id


def memory(**scope: str) -> dict:
    return {"mem0": scope}


def test_a_flat_filter_is_one_and_group_and_its_tags_narrow_the_indexes():
    f = parse_filters({"user_id": "alice", "agent_id": "helper"})
    assert f.groups == ((Condition("user_id", frozenset({"alice"})), Condition("agent_id", frozenset({"helper"}))),)
    assert f.admits(memory(user_id="alice", agent_id="helper"))
    assert not f.admits(memory(user_id="alice"))
    assert f.tags() in ({"mem0.user:alice"}, {"mem0.agent:helper"}) and not f.exact


def test_or_in_and_wildcards_multiply_out_into_alternatives():
    f = parse_filters({"OR": [{"user_id": "alice"}, {"agent_id": {"in": ["a1", "a2"]}}]})
    assert f.tags() == {"mem0.user:alice", "mem0.agent:a1", "mem0.agent:a2"} and f.exact
    assert f.admits(memory(agent_id="a2")) and not f.admits(memory(agent_id="a3"))
    g = parse_filters({"AND": [{"user_id": "alice"}, {"run_id": "*"}]})
    assert g.admits(memory(user_id="alice", run_id="r9")) and not g.admits(memory(user_id="alice"))
    assert g.tags() == {"mem0.user:alice"}
    anything = parse_filters({"user_id": "*"})
    assert anything.tags() is None and anything.admits(memory(user_id="x")) and not anything.admits({})


@pytest.mark.parametrize("filters, says", [
    ({}, "at least one"),
    (None, "at least one"),
    ({"categories": {"in": ["a"]}}, "not supported"),
    ({"NOT": {"user_id": "a"}}, "not supported"),
    ({"OR": [{"user_id": "a"}, {"created_at": {"gte": "2024-01-01"}}]}, "not supported"),
    ({"OR": []}, "non-empty list"),
    ({"user_id": {"gte": "a"}}, "supports a value"),
    ({"user_id": "two words"}, "without whitespace"),
    ({"user_id": True}, "must be a string"),
    ({"AND": [{"OR": [{"user_id": str(i)} for i in range(9)]}] * 2}, f"more than {MAX_GROUPS}"),
])
def test_filters_mem0_can_read_but_memos_cannot_are_refused_not_ignored(filters, says):
    with pytest.raises(Invalid, match=says):
        parse_filters(filters)


def test_a_write_needs_an_entity_id_and_gets_a_tag_per_id():
    with pytest.raises(Invalid, match="at least one"):
        entity_scope({"metadata": {}})
    scope = entity_scope({"user_id": " alice ", "run_id": 42, "agent_id": None})
    assert scope == {"user_id": "alice", "run_id": "42"}
    assert scope_tags(scope) == ["mem0.user:alice", "mem0.run:42"]


def test_a_run_id_becomes_a_valid_episode_id_even_when_it_is_not_one():
    assert episode_id("chat-1") == "mem0-run-chat-1"
    odd = episode_id("ünïcode/run")
    assert odd.startswith("mem0-run-") and is_memory_id(odd) and odd == episode_id("ünïcode/run")


def test_a_memory_is_shown_through_its_expiration_date_and_hidden_after():
    assert not expired("2026-12-02", date(2026, 12, 2))
    assert expired("2026-12-01", date(2026, 12, 2))
    assert not expired(None, date(2026, 12, 2))
