"""New versions of a skill: arguments that start to vary, and run feedback counted once."""

from pipeline.crystallize.skill import SkillStep
from pipeline.crystallize.versions import record_run, update_skill
from tests.pipeline.crystallize.example_episodes import deploy


def test_an_argument_that_starts_to_vary_becomes_a_parameter_in_the_next_version(skill_v1):
    v2 = update_skill(skill_v1, [deploy(6, "web", "1.0.0", replicas=5)])
    assert v2.version == 2
    assert v2.steps[3] == SkillStep(
        "rollout", {"image": "registry.local/{service}:{tag}", "namespace": "prod", "replicas": "{replicas}",
                    "service": "{service}"}, ("image", "replicas", "service"))
    assert v2.parameters["properties"]["replicas"] == {
        "type": "integer", "description": "Used as `replicas` of step 4.", "examples": [3, 5]}
    assert v2.parameters["required"] == ["replicas", "service", "tag"]


def test_run_feedback_counts_once_and_moves_the_rate(skill_v1):
    v2 = record_run(skill_v1, "run-1", succeeded=False)
    assert (v2.version, v2.runs, v2.successes, v2.success_rate, v2.failures) == (2, 6, 5, 0.8333, ("run-1",))
    assert record_run(v2, "run-1", succeeded=False) is None
