"""Letta agent files, tested on real ones from letta-ai/agent-file: blocks become personas and
notes, messages one episode with MemGPT's packing undone; ids survive Letta's renumbering; our
export is an `AgentFileSchema` file whose blocks carry the persona and the strongest facts."""

from __future__ import annotations

import json

import orjson
import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import letta
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, memories, of, our_export

LEGACY = DATA / "letta" / "composio_github_star_agent.af"


def test_a_legacy_memgpt_agent_file_becomes_personas_and_one_episode_of_its_conversation():
    objects = checked(letta.read(LEGACY))
    mems = list(memories(objects).values())
    assert [(m["kind"], m["content"], m["metadata"].get("speaker")) for m in mems if m.get("episode") is None] == [
        ("persona", "You are an agent helping the human star cool repos!", "composio_github_star_agent"),
        ("persona", "Name: Sarah", "user")]
    [episode] = of(objects, "episode")
    assert (episode["task"], episode["opened_at"], episode["closed_at"]) == (
        "Agent that stars repos on github", "2025-04-01T03:47:12.720Z", "2025-04-01T03:59:43.433Z")
    turns = [m for m in mems if m.get("episode") == episode["id"]]
    assert [(m["kind"], m["metadata"]["role"], m["content"]) for m in turns] == [
        ("message", "assistant", "More human than human is our motto."),
        ("message", "user", "please star this repo https://github.com/letta-ai/letta"),  # unpacked; logins dropped
        ("tool_call", "assistant", "github_star_a_repository_for_the_authenticated_user(owner=letta-ai, repo=letta)"),
        ("message", "assistant", "I've starred the repository for you! 🎉")]
    assert turns[2]["tool"] == {"name": "github_star_a_repository_for_the_authenticated_user",
                                "arguments": {"owner": "letta-ai", "repo": "letta"},  # request_heartbeat dropped
                                "result": '{\n  "details": "Action executed successfully"\n}', "status": "ok"}
    assert turns[3]["metadata"]["thinking"] == "Successfully starred the requested repository. Time to inform the user!"


def test_a_current_agent_file_stored_as_a_json_string_reads_its_blocks():
    mems = list(memories(checked(letta.read(DATA / "letta" / "memgpt_agent.af"))).values())
    assert [(m["metadata"]["letta"]["block"], m["kind"], m["metadata"]["speaker"]) for m in mems] == [
        ("human", "persona", "user"), ("persona", "persona", "memgpt_agent")]
    assert mems[0]["content"].startswith("This is what I know so far about the user")


def test_custom_blocks_become_notes_and_a_send_message_call_the_agents_reply():
    objects = checked(letta.read(DATA / "letta" / "loop.af"))
    mems = list(memories(objects).values())
    blocks = [(m["metadata"]["letta"]["block"], m["kind"]) for m in mems if "block" in m["metadata"]["letta"]]
    assert blocks == [("about_user", "note"), ("active_hypotheses", "note"), ("conversation_patterns", "note"),
                      ("custom_instructions", "note"), ("learned_corrections", "note"), ("persona", "persona"),
                      ("preferences", "note"), ("scratchpad", "note"), ("soul", "note")]
    [reply] = [m for m in mems if m.get("episode")]
    assert (reply["kind"], reply["content"]) == ("message", "I'm Loop. I remember. What's on your mind?")


def test_ids_come_from_the_content_so_a_renumbered_export_of_the_same_agent_matches(tmp_path):
    doc = json.loads(LEGACY.read_text())
    doc["messages"] = [dict(m, id=f"renumbered-{i}") for i, m in enumerate(reversed(doc["messages"]))][::-1]
    doc["core_memory"] = list(reversed(doc["core_memory"]))
    path = tmp_path / "again.af"
    path.write_text(json.dumps(doc))
    assert sorted(o.get("id", "") for o in letta.read(path)) == sorted(o.get("id", "") for o in letta.read(LEGACY))


def test_a_file_that_is_not_an_agent_file_is_named(tmp_path):
    path = tmp_path / "x.af"
    path.write_text('{"agents": "none"}')
    with pytest.raises(Invalid, match=r"^x.af: neither `agents` nor `core_memory`"):
        list(letta.read(path))
    path.write_text('{"agents": [')
    with pytest.raises(Invalid, match=r"^x.af: not valid JSON"):
        list(letta.read(path))


# Required by letta/schemas/agent_file.py AgentFileSchema, and what its parts must hold.
FILE_KEYS = {"agents", "groups", "blocks", "files", "sources", "tools", "mcp_servers"}


def test_our_export_is_an_agent_file_with_the_persona_and_the_strongest_facts(tmp_path):
    path = tmp_path / "dana.af"
    assert letta.write(iter(our_export()), path) == 6  # 1 persona, 2 active facts, 3 turns
    doc = json.loads(path.read_text())
    assert FILE_KEYS <= set(doc) and all(isinstance(doc[k], list) for k in FILE_KEYS)
    assert all(isinstance(v, str) for v in doc["metadata"].values())  # Dict[str, str]
    real = orjson.loads(orjson.loads((DATA / "letta" / "memgpt_agent.af").read_bytes()))
    [agent] = doc["agents"]
    assert set(agent) <= set(real["agents"][0]) | {"model", "embedding"}, "a field Letta's files do not have"
    assert set(doc["blocks"][0]) == set(real["blocks"][0])
    assert agent["block_ids"] == [b["id"] for b in doc["blocks"]] and agent["model"] == letta.DEFAULT_MODEL
    blocks = {b["label"]: b["value"] for b in doc["blocks"]}
    assert blocks == {"persona": "I'm Dana, a data engineer who likes terse answers.",
                      "human": "- Dana lives in Lisbon.\n- Dana likes terse answers."}  # superseded Berlin left out
    assert [(m["role"], m["content"][0]["text"] if m["content"] else None) for m in agent["messages"]] == [
        ("system", letta.SYSTEM), ("user", "I moved to Lisbon last month — adoro a cidade."), ("assistant", None),
        ("tool", '{"exit":0,"stdout":"sent 4.2M"}'), ("assistant", "The blog now runs on the new host.")]
    call = agent["messages"][2]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "bash"
    assert json.loads(call["function"]["arguments"]) == {"command": "rsync -a blog/ new:/srv/blog"}
    assert agent["messages"][3]["tool_call_id"] == call["id"] and agent["messages"][3]["tool_returns"][0]["status"] == \
        "success"
    assert agent["in_context_message_ids"] == [m["id"] for m in agent["messages"]]


def test_our_agent_file_reads_back_through_the_letta_reader(tmp_path):
    path = tmp_path / "dana.af"
    letta.write(iter(our_export()), path)
    objects = checked(letta.read(path))
    mems = list(memories(objects).values())
    assert [(m["kind"], m["metadata"]["speaker"], m["content"]) for m in mems if m.get("episode") is None] == [
        ("persona", "agent-dana", "I'm Dana, a data engineer who likes terse answers."),
        ("persona", "user", "- Dana lives in Lisbon.\n- Dana likes terse answers.")]
    turns = [m for m in mems if m.get("episode")]
    assert [(m["kind"], m["content"]) for m in turns] == [
        ("message", "I moved to Lisbon last month — adoro a cidade."),
        ("tool_call", "bash(command=rsync -a blog/ new:/srv/blog)"),
        ("message", "The blog now runs on the new host.")]
    assert turns[1]["tool"]["result"] == {"exit": 0, "stdout": "sent 4.2M"} and turns[1]["tool"]["status"] == "ok"
