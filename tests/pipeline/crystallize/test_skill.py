"""The skill record's JSON form."""

from pipeline.crystallize.skill import Skill


def test_a_skill_survives_a_round_trip_through_json(skill_v1):
    assert Skill.from_dict(skill_v1.to_dict()) == skill_v1
