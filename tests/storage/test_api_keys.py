"""Keys stay required once one has been created, until `stop_requiring` (`memos auth off`) runs.

Before this rule, revoking the last key of a loopback server opened it to anyone naming an agent
in X-Agent-Id (issue 12, "found while trying it as a new user would").
"""

from __future__ import annotations

import pytest

from pipeline.errors import Conflict
from storage.api_keys import ApiKeys
from storage.registry import MIGRATIONS
from storage.sqlite import connect, migrate, schema_version


@pytest.fixture
def keys(tmp_path):
    store = ApiKeys(tmp_path / "registry.db")
    yield store
    store.close()


def test_a_fresh_registry_requires_no_key(keys):
    assert keys.required() is False
    assert keys.list() == []


def test_revoking_the_last_key_leaves_keys_required(keys):
    record, _ = keys.create("alice", admin=False)
    assert keys.required() is True
    keys.revoke(record.id)
    assert keys.required() is True
    assert [k.revoked_at is not None for k in keys.list()] == [True]


def test_stop_requiring_is_refused_while_a_key_is_active(keys):
    record, _ = keys.create("alice", admin=False)
    with pytest.raises(Conflict, match="1 API key"):
        keys.stop_requiring()
    assert keys.required() is True
    keys.revoke(record.id)
    keys.stop_requiring()
    assert keys.required() is False


def test_a_new_key_after_auth_off_requires_keys_again(keys):
    first, _ = keys.create("alice", admin=False)
    keys.revoke(first.id)
    keys.stop_requiring()
    keys.create("bob", admin=False)
    assert keys.required() is True


def test_another_process_turning_auth_off_is_seen_at_once(tmp_path, keys):
    record, _ = keys.create("alice", admin=False)
    keys.revoke(record.id)
    assert keys.required() is True  # now cached by the registry files' mark
    other = ApiKeys(tmp_path / "registry.db")  # the CLI, working on the same data dir
    other.stop_requiring()
    other.close()
    assert keys.required() is False


@pytest.mark.parametrize("revoked,required", [(False, True), (True, False)])
def test_a_registry_from_before_the_flag_keeps_the_auth_state_it_had(tmp_path, revoked, required):
    path = tmp_path / "registry.db"
    old = connect(path)
    migrate(old, MIGRATIONS[:2])
    with old:
        old.execute("INSERT INTO api_keys(id, agent, admin, hash, created_at, revoked_at) "
                    "VALUES ('aaaaaaaaaaaa', 'alice', 0, 'x', 1, ?)", (2 if revoked else None,))
    old.close()
    store = ApiKeys(path)
    assert schema_version(store._conn) == len(MIGRATIONS)
    assert store.required() is required
    store.revoke("aaaaaaaaaaaa")  # the migration recorded the flag itself, not only the active key
    assert store.required() is required
    store.close()
