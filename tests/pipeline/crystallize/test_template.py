"""Steps and parameters learned from example calls."""

from pipeline.crystallize.decide import crystallize
from pipeline.crystallize.render import render_skill
from pipeline.crystallize.skill import SkillStep
from pipeline.episodes import ToolCall
from tests.pipeline.crystallize.example_episodes import episode


def test_an_argument_missing_from_some_examples_is_an_optional_parameter():
    calls = [
        [ToolCall("search_flights", {"from": "LIS", "to": "BER"}), ToolCall("book", {"seat": "aisle"})],
        [ToolCall("search_flights", {"from": "OPO", "to": "MAD", "date": "2026-03-01"}), ToolCall("book", {"seat": "aisle"})],
        [ToolCall("search_flights", {"from": "LIS", "to": "CDG", "date": "2026-04-09"}), ToolCall("book", {"seat": "aisle"})],
    ]
    eps = [episode(f"fl-{i}", "Book a flight for the offsite", c) for i, c in enumerate(calls)]
    (change,) = crystallize(eps)
    skill = change.skill
    assert skill.steps[0] == SkillStep("search_flights", {"date": "{date}", "from": "{from}", "to": "{to}"},
                                       ("date", "from", "to"), ("date",))
    assert skill.parameters["required"] == ["from", "to"]
    assert render_skill(skill, {"from": "LIS", "to": "OSL"}).steps == (
        {"tool": "search_flights", "arguments": {"from": "LIS", "to": "OSL"}},
        {"tool": "book", "arguments": {"seat": "aisle"}},
    )
