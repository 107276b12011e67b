"""A skill learned from five deploys, and the deploys it came from."""

import pytest

from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize.decide import crystallize
from tests.pipeline.crystallize.example_episodes import DEPLOYS, deploy


@pytest.fixture
def five_deploys():
    return [deploy(i, s, t) for i, (s, t) in enumerate(DEPLOYS, 1)]


@pytest.fixture
def skill_v1(five_deploys):
    (change,) = crystallize(five_deploys, config=CrystallizeConfig(min_support=5))
    return change.skill
