"""The registry: cubes, roles, mounts, keys and the audit log in registry.db."""

import pytest

from pipeline.access import Role
from pipeline.errors import NotFound
from storage.api_keys import ApiKeys
from storage.audit_log import AuditLog
from storage.registry import MIGRATIONS, Registry, shard_for
from storage.sqlite import schema_version


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path / "registry.db", n_shards=4)


def test_owner_is_admin_members_have_their_grant_others_nothing(registry):
    kb = registry.create_kb("kb-01ARZ3NDEKTSV4RRFFQ69G5FAV", "notes", "alice", "")
    registry.grant(kb.id, "bob", Role.READ, by="alice")
    assert registry.role(kb.id, "alice") == Role.ADMIN
    assert registry.role(kb.id, "bob") == Role.READ
    assert registry.role(kb.id, "carol") is None
    registry.grant(kb.id, "bob", Role.WRITE, by="alice")  # a second grant changes the role
    assert [(m.agent, m.role) for m in registry.members(kb.id)] == [("alice", Role.ADMIN), ("bob", Role.WRITE)]
    assert registry.revoke(kb.id, "bob") is True and registry.role(kb.id, "bob") is None
    assert registry.revoke(kb.id, "bob") is False


def test_cubes_of_lists_owned_then_granted_and_revoke_drops_the_mount(registry):
    own = registry.ensure_private("agent-bob", "bob")
    kb = registry.create_kb("kb-01ARZ3NDEKTSV4RRFFQ69G5FAV", "notes", "alice", "")
    registry.grant(kb.id, "bob", Role.READ, by="alice")
    registry.mount("bob", kb.id)
    assert [(c.id, r) for c, r in registry.cubes_of("bob")] == [(own.id, Role.ADMIN), (kb.id, Role.READ)]
    assert registry.mounts("bob") == [kb.id]
    registry.revoke(kb.id, "bob")
    assert registry.mounts("bob") == []


def test_placement_is_recorded_and_survives_a_new_shard_count(tmp_path):
    first = Registry(tmp_path / "registry.db", n_shards=4)
    cube = first.ensure_private("agent-zed", "zed")
    first.close()
    again = Registry(tmp_path / "registry.db", n_shards=1)
    assert again.get("agent-zed").shard == cube.shard
    assert cube.shard in again.shards()
    assert schema_version(again._conn) == len(MIGRATIONS)


def test_keys_verify_only_with_the_right_secret_and_not_after_revoke(tmp_path):
    keys = ApiKeys(tmp_path / "registry.db")
    record, key = keys.create("alice", admin=True)
    assert keys.verify(key) == record
    assert keys.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert keys.verify("not a key") is None
    assert keys.required()
    keys.revoke(record.id)
    assert keys.verify(key) is None and keys.required()  # tests/storage/test_api_keys.py: auth stays on
    with pytest.raises(NotFound):
        keys.revoke("nosuchkey123")


def test_audit_scopes_events_by_cube_and_agent(tmp_path):
    audit = AuditLog(tmp_path / "registry.db")
    audit.record("alice", "member.grant", cube="kb-1", target="bob")
    audit.record("carol", "cube.create", cube="kb-2")
    audit.record("dave", "memory.share", cube="kb-3", memory_id="m1")
    assert [e.action for e in audit.events(cubes=None, agent=None, before=None, limit=10)] == [
        "memory.share", "cube.create", "member.grant"]
    assert [e.action for e in audit.events(cubes=["kb-2"], agent="bob", before=None, limit=10)] == [
        "cube.create", "member.grant"]
    newest = audit.events(cubes=None, agent=None, before=None, limit=1)[0]
    assert [e.action for e in audit.events(cubes=None, agent=None, before=newest.seq, limit=10)] == [
        "cube.create", "member.grant"]


def test_shard_of_is_the_recorded_shard_or_where_a_new_cube_will_go(tmp_path):
    small = Registry(tmp_path / "registry.db", n_shards=1)
    cube = small.ensure_private("agent-alice", "alice")
    grown = Registry(tmp_path / "registry.db", n_shards=8)  # more shards later never move a cube
    assert grown.shard_of("agent-alice") == cube.shard == "s0"
    assert grown.shard_of("agent-bob") == shard_for("agent-bob", 8)
