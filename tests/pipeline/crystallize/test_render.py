"""Callable forms of a skill: the filled-in procedure, refused params, OpenAI and MCP tool definitions."""

import pytest

from pipeline.crystallize.render import render_skill, skill_tool_definition
from pipeline.errors import Invalid, InvalidParams


def test_render_fills_the_procedure(skill_v1):
    rendered = render_skill(skill_v1, {"service": "web", "tag": "9.9.9"})
    assert rendered.steps == (
        {"tool": "build", "arguments": {"dockerfile": "Dockerfile", "service": "web", "tag": "9.9.9"}},
        {"tool": "run_tests", "arguments": {"service": "web", "suite": "smoke"}},
        {"tool": "push", "arguments": {"image": "registry.local/web:9.9.9"}},
        {"tool": "rollout", "arguments": {"image": "registry.local/web:9.9.9", "namespace": "prod", "replicas": 3,
                                          "service": "web"}},
    )
    assert rendered.markdown.splitlines()[-4:] == [
        '1. Call `build` with `{"dockerfile":"Dockerfile","service":"web","tag":"9.9.9"}`',
        '2. Call `run_tests` with `{"service":"web","suite":"smoke"}`',
        '3. Call `push` with `{"image":"registry.local/web:9.9.9"}`',
        '4. Call `rollout` with `{"image":"registry.local/web:9.9.9","namespace":"prod","replicas":3,"service":"web"}`',
    ]


def test_render_refuses_bad_params_listing_every_problem(skill_v1):
    with pytest.raises(InvalidParams) as caught:
        render_skill(skill_v1, {"service": 7, "colour": "red"})
    assert isinstance(caught.value, Invalid) and caught.value.code == "invalid_params"
    assert caught.value.problems == [
        "params: 'tag' is a required property",
        "params: Additional properties are not allowed ('colour' was unexpected)",
        "service: 7 is not of type 'string'",
    ]


def test_tool_definitions_for_openai_and_mcp(skill_v1):
    tools = skill_tool_definition(skill_v1)
    assert tools.openai == {"type": "function", "function": {
        "name": skill_v1.tool_name, "description": f"{skill_v1.description} {skill_v1.when_to_use}",
        "parameters": skill_v1.parameters}}
    assert tools.mcp == {"name": skill_v1.tool_name, "description": f"{skill_v1.description} {skill_v1.when_to_use}",
                         "inputSchema": skill_v1.parameters}
    assert skill_v1.tool_name == f"deploy_service_tag_{skill_v1.id[-6:]}"
