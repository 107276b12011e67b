"""Ids that reach the file system: only well-formed ones, and never outside the data directory."""

import pytest

from pipeline.errors import Invalid, InvalidAgent
from pipeline.ids import check_agent_id, private_cube_id
from storage.paths import DataPaths

HOSTILE = ["../x", "a/b", "a\x00b", "..", "", "x" * 65, "é", "agent-../../etc", "a b", "a\nb"]


@pytest.mark.parametrize("agent", HOSTILE)
def test_hostile_agent_ids_are_refused(agent):
    with pytest.raises(InvalidAgent):
        check_agent_id(agent)


@pytest.mark.parametrize("cube", HOSTILE + ["agent-", "agent-a/b", "agent-a\\b", "kb-" + "A" * 25, "CON", "alice"])
def test_hostile_cube_ids_never_become_paths(tmp_path, cube):
    with pytest.raises(Invalid):
        DataPaths(tmp_path).cube_db(cube)


def test_a_private_cube_file_lives_in_the_cubes_folder(tmp_path):
    path = DataPaths(tmp_path).cube_db(private_cube_id("alice_01"))
    assert path == (tmp_path / "cubes" / "agent-alice_01.db").resolve()
