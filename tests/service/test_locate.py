"""service/locate.py: which of the caller's cubes holds a memory named only by id."""

from __future__ import annotations

import pytest

from pipeline.access import Caller, Role
from pipeline.errors import Forbidden, NotFound
from service.memories import NewMemory
from service.runtime import Runtime
from tests.service.conftest import run

OWNER, READER, STRANGER = Caller("loc-owner"), Caller("loc-reader"), Caller("loc-stranger")


@pytest.fixture(scope="module")
def shared(runtime: Runtime) -> str:
    """A knowledge-base cube of OWNER holding one memory; READER may read it and has mounted it."""
    cube = runtime.cubes.create(OWNER, "locate runbooks", "")["id"]
    runtime.cubes.grant(OWNER, cube, READER.agent, Role.READ)
    runtime.cubes.mount(READER, cube)
    run(runtime.memories.add(OWNER, NewMemory("restart the ingest worker before the reindex", id="loc-kb-1",
                                              cube=cube), wait=True))
    return cube


def test_a_memory_in_a_mounted_cube_is_found_by_id_alone(runtime: Runtime, shared: str):
    assert runtime.locate.holder(READER, "loc-kb-1", None) == runtime.registry.get(shared)
    got = runtime.memories.get(READER, "loc-kb-1")
    assert (got["cube"], got["content"], got["status"]) == (shared, "restart the ingest worker before the reindex",
                                                            "active")


def test_a_memory_still_in_the_intake_log_is_found_in_its_cube(runtime: Runtime):
    own = runtime.access.own_cube(OWNER)
    runtime.driver.pause()
    try:
        accepted = run(runtime.memories.add(OWNER, NewMemory("queued while the pipeline is paused", id="loc-q-1"),
                                            wait=False))
        assert (accepted.id, accepted.status, accepted.cube) == ("loc-q-1", "queued", own.id)
        assert runtime.locate.holder(OWNER, "loc-q-1", None) == own
        pending = runtime.memories.get(OWNER, "loc-q-1")
        assert (pending["cube"], pending["status"], pending["version"]) == (own.id, "pending", 0)
        with pytest.raises(NotFound, match="memory loc-q-1 does not exist"):
            runtime.locate.stored(own.id, "loc-q-1")  # found, but not stored yet
    finally:
        runtime.driver.resume()
    run(runtime.ops.settle(own.id, "loc-q-1"))
    assert runtime.locate.stored(own.id, "loc-q-1").content == "queued while the pipeline is paused"


def test_a_cube_the_caller_cannot_read_is_refused_as_if_it_did_not_exist(runtime: Runtime, shared: str):
    with pytest.raises(NotFound, match=f"cube {shared} does not exist"):
        runtime.locate.holder(STRANGER, "loc-kb-1", shared)
    with pytest.raises(NotFound, match="memory loc-kb-1 does not exist"):
        runtime.locate.holder(STRANGER, "loc-kb-1", None)  # never looked for where it cannot read
    with pytest.raises(NotFound, match="memory loc-kb-1 does not exist"):
        runtime.memories.get(STRANGER, "loc-kb-1")


def test_a_named_cube_is_the_only_place_looked_in(runtime: Runtime, shared: str):
    run(runtime.memories.add(READER, NewMemory("the reader's own note", id="loc-own-1"), wait=True))
    assert runtime.locate.holder(READER, "loc-own-1", None) == runtime.access.own_cube(READER)
    with pytest.raises(NotFound, match="memory loc-own-1 does not exist"):
        runtime.locate.holder(READER, "loc-own-1", shared)


def test_a_reader_finds_a_memory_it_may_not_change(runtime: Runtime, shared: str):
    assert runtime.locate.target(READER, "loc-kb-1", None, Role.READ).id == shared
    with pytest.raises(Forbidden, match=f"cube {shared} needs the write role; you have read"):
        runtime.locate.target(READER, "loc-kb-1", None, Role.WRITE)
    with pytest.raises(Forbidden):
        run(runtime.memories.delete(READER, "loc-kb-1"))
    assert runtime.locate.stored(shared, "loc-kb-1").status == "active"  # the refused delete changed nothing
