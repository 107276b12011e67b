"""Which skills and versions episodes give rise to: grouping, support, new versions, failures."""

from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize.decide import ChangeKind, crystallize
from pipeline.crystallize.skill import SkillStep
from pipeline.crystallize.versions import update_skill
from pipeline.episodes import Outcome, ToolCall
from tests.pipeline.crystallize.example_episodes import DEPLOYS, backup, deploy, deploy_calls, episode


def test_five_successful_deploys_crystallize_into_one_skill_with_service_and_tag(five_deploys):
    (change,) = crystallize(five_deploys, config=CrystallizeConfig(min_support=5))
    skill = change.skill
    assert change.kind is ChangeKind.CREATED and change.episode_ids == ("ep-01", "ep-02", "ep-03", "ep-04", "ep-05")
    assert skill.version == 1 and skill.id.startswith("skill-")
    assert skill.name == "deploy service tag via build → run_tests → push → rollout"
    assert skill.steps == (
        SkillStep("build", {"dockerfile": "Dockerfile", "service": "{service}", "tag": "{tag}"}, ("service", "tag")),
        SkillStep("run_tests", {"service": "{service}", "suite": "smoke"}, ("service",)),
        SkillStep("push", {"image": "registry.local/{service}:{tag}"}, ("image",)),
        SkillStep("rollout", {"image": "registry.local/{service}:{tag}", "namespace": "prod", "replicas": 3,
                              "service": "{service}"}, ("image", "service")),
    )
    assert skill.parameters == {
        "type": "object",
        "properties": {
            "service": {"type": "string",
                        "description": "Used as `service` of step 1, `service` of step 2, `image` of step 3, "
                                       "`image` of step 4, `service` of step 4.",
                        "examples": ["api", "billing", "auth", "search", "payments"]},
            "tag": {"type": "string",
                    "description": "Used as `tag` of step 1, `image` of step 3, `image` of step 4.",
                    "examples": ["1.4.2", "2.0.1", "3.1.0", "0.9.7", "5.2.0"]},
        },
        "required": ["service", "tag"],
        "additionalProperties": False,
    }
    assert (skill.success_rate, skill.runs, skill.successes, skill.failures) == (1.0, 5, 5, ())
    assert skill.examples == ("ep-01", "ep-02", "ep-03", "ep-04", "ep-05")
    assert skill.task_pattern == "Deploy the {service} service with tag {tag}"
    assert skill.when_to_use == 'Use for tasks like "Deploy the {service} service with tag {tag}". Needs: service, tag.'
    assert skill.description == ("Deploy service tag via build → run_tests → push → rollout: 4 tool calls learned "
                                 "from 5 successful episodes; succeeded in 5 of 5 runs (100%).")


def test_crystallizing_is_deterministic_whatever_the_input_order(five_deploys):
    forward = crystallize(five_deploys)
    backward = crystallize(list(reversed(five_deploys)))
    assert [c.skill.to_dict() for c in forward] == [c.skill.to_dict() for c in backward]


def test_below_min_support_nothing_crystallizes(five_deploys):
    assert crystallize(five_deploys[:2]) == []
    assert crystallize(five_deploys[:4], config=CrystallizeConfig(min_support=5)) == []


def test_a_later_episode_makes_version_two_with_the_same_id(skill_v1):
    (change,) = crystallize([deploy(6, "web", "1.0.0")], [skill_v1])
    v2 = change.skill
    assert change.kind is ChangeKind.UPDATED and change.episode_ids == ("ep-06",)
    assert (v2.id, v2.version, v2.runs, v2.successes, v2.success_rate) == (skill_v1.id, 2, 6, 6, 1.0)
    assert v2.examples == skill_v1.examples + ("ep-06",)
    assert v2.steps == skill_v1.steps
    assert v2.parameters["properties"]["service"]["examples"] == ["api", "billing", "auth", "search", "payments"]
    assert v2.bindings[-1].params == {"service": "web", "tag": "1.0.0"}


def test_a_failed_run_lowers_the_success_rate(skill_v1):
    failed = episode("ep-07", "Deploy the api service with tag 1.5.0", [
        ToolCall("build", {"service": "api", "tag": "1.5.0", "dockerfile": "Dockerfile"}, "built", "ok"),
        ToolCall("run_tests", {"service": "api", "suite": "smoke"}, "3 failed", "error"),
    ], outcome=Outcome.FAILURE)
    (change,) = crystallize([failed], [skill_v1])
    v2 = change.skill
    assert (v2.version, v2.runs, v2.successes, v2.success_rate, v2.failures) == (2, 6, 5, 0.8333, ("ep-07",))
    assert v2.steps == skill_v1.steps and v2.examples == skill_v1.examples
    assert "succeeded in 5 of 6 runs (83%)" in v2.description


def test_the_same_episodes_again_change_nothing(skill_v1, five_deploys):
    assert crystallize(five_deploys, [skill_v1]) == []
    assert update_skill(skill_v1, five_deploys) is None


def test_unrelated_episodes_do_not_merge(five_deploys):
    backups = [backup(i, db) for i, db in enumerate(["orders", "users", "events"], 1)]
    noise = [episode("zz-01", "Summarize the incident report", [ToolCall("read_file", {"path": "/tmp/r.md"})]),
             episode("zz-02", "Deploy the docs site", [ToolCall("rsync", {"src": "site/", "dst": "web:/srv"})])]
    changes = crystallize(backups + five_deploys + noise)
    assert sorted((c.skill.signature, c.skill.examples) for c in changes) == [
        (("build", "run_tests", "push", "rollout"), ("ep-01", "ep-02", "ep-03", "ep-04", "ep-05")),
        (("pg_dump", "upload"), ("bk-01", "bk-02", "bk-03")),
    ]
    (backup_skill,) = [c.skill for c in changes if c.skill.signature[0] == "pg_dump"]
    assert backup_skill.steps[1].arguments == {"bucket": "backups", "file": "/tmp/{database}.dump"}


def test_the_same_tools_for_a_different_task_do_not_merge(five_deploys):
    # Same tool sequence, but the task texts share no words with the deploys.
    lookalikes = [episode(f"xx-{i}", f"Benchmark image compression variant {i}", deploy_calls(f"z{i}", f"0.0.{i}"))
                  for i in range(3)]
    changes = crystallize(five_deploys + lookalikes, config=CrystallizeConfig(min_support=3))
    assert sorted(c.skill.examples for c in changes) == [
        ("ep-01", "ep-02", "ep-03", "ep-04", "ep-05"), ("xx-0", "xx-1", "xx-2")]


def test_task_vectors_group_differently_phrased_tasks_of_one_kind(encoder):
    tasks = ["Deploy the api service with tag 1.4.2", "deploy billing service (tag 2.0.1)",
             "Deploy the auth service, version 3.1.0", "Roll out search service at tag 0.9.7",
             "deploy payments service tag 5.2.0", "Restart the api service"]
    vectors = encoder.encode(tasks)
    episodes = [episode(f"ep-{i}", t, deploy_calls(s, v), vector=vectors[i])
                for i, (t, (s, v)) in enumerate(zip(tasks[:5], DEPLOYS))]
    restart = episode("ep-5", tasks[5], [ToolCall("restart", {"service": "api"})], vector=vectors[5])
    (change,) = crystallize(episodes + [restart], config=CrystallizeConfig(min_support=5))
    skill = change.skill
    assert skill.examples == ("ep-0", "ep-1", "ep-2", "ep-3", "ep-4")
    assert skill.task_pattern is None  # the phrasings differ, so example tasks stand in
    assert skill.centroid_count == 5 and len(skill.task_centroid) == encoder.dim
    (v2,) = crystallize([episode("ep-9", "Deploy the web service with tag 1.0.0", deploy_calls("web", "1.0.0"),
                                 vector=encoder.encode(["Deploy the web service with tag 1.0.0"])[0])], [skill])
    assert (v2.skill.version, v2.skill.runs) == (2, 6)
