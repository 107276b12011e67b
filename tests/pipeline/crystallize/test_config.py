"""Crystallize thresholds are checked when built."""

import pytest

from pipeline.crystallize.config import CrystallizeConfig


def test_config_rejects_thresholds_out_of_range():
    with pytest.raises(ValueError):
        CrystallizeConfig(task_cosine=1.5)
    with pytest.raises(ValueError):
        CrystallizeConfig(min_support=0)
