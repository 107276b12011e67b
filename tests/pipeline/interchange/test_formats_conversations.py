"""ChatGPT's and Claude's `conversations.json`: one closed episode per conversation, its turns as
traces (ChatGPT: the branch last shown; Claude: every message), tools paired with their results."""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import chatgpt, claude, json_stream
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, memories, of, zip_folder

CHATGPT = DATA / "chatgpt" / "conversations.json"
CLAUDE = DATA / "claude" / "conversations.json"
C1, C2 = "chatgpt-67c5a1b0-0e1f-8001-9a2b-3c4d5e6f7a8b", "chatgpt-67c6b2c1-1f20-8002-ab3c-4d5e6f7a8b9c"


def test_a_chatgpt_conversation_is_an_episode_of_the_branch_last_shown():
    objects = checked(chatgpt.read(CHATGPT))
    assert [(e["id"], e["task"], e["opened_at"], e["closed_at"]) for e in of(objects, "episode")] == [
        (C1, "Biggest files under /var", "2025-03-03T11:06:40.000Z", "2025-03-03T11:07:25.000Z"),
        (C2, "Plante d'intérieur", "2025-03-04T14:53:20.000Z", "2025-03-04T14:53:28.000Z")]
    mems = memories(objects)
    first = [(m["id"].removeprefix(C1 + "-"), m["kind"], m["metadata"]["role"]) for m in mems.values()
             if m.get("episode") == C1]
    assert first == [("u-1", "message", "user"), ("a-1", "message", "assistant"), ("u-2b", "message", "user"),
                     ("t-1", "tool_call", "tool"), ("a-2b", "message", "assistant")]  # not the abandoned u-2a
    assert mems[f"{C1}-a-1"]["content"] == "Use du and sort:\n\n```bash\ndu -ah /var | sort -rh | head -n 10\n```"
    assert mems[f"{C1}-a-1"]["metadata"]["model"] == "gpt-4o"
    tool = mems[f"{C1}-t-1"]
    assert tool["tool"] == {"name": "python", "arguments": {"code": "import subprocess\nprint(subprocess.run(["
                                                                    "'find', '/var', '-type', 'f'], capture_output="
                                                                    "True, text=True).stderr)"},
                            "result": "find: '/var/cache/private': Permission denied", "status": "ok"}
    assert tool["temporal"]["created_at"] == "2025-03-03T11:07:20.800Z"  # when it was called
    image, text = [m for m in mems.values() if m.get("episode") == C2][:2]
    assert (image["kind"], image["content"]) == ("image", "[image file-service://file-Ab12]")
    assert {k: image["metadata"][k] for k in ("width", "height", "size_bytes")} == {"width": 800, "height": 600,
                                                                                   "size_bytes": 48211}
    assert text["content"] == "Qu'est-ce que c'est que cette plante ?"
    assert mems[f"{C1}-u-1"]["provenance"] == {"platform": "chatgpt",
                                              "conversation_ref": "67c5a1b0-0e1f-8001-9a2b-3c4d5e6f7a8b",
                                              "message_ref": "u-1", "extraction_method": "api_export"}


def test_chatgpt_custom_instructions_become_one_persona(tmp_path):
    convs = json.loads(CHATGPT.read_text())
    context = {"id": "ctx", "message": {"id": "ctx", "author": {"role": "user"}, "create_time": None, "content": {
        "content_type": "user_editable_context", "user_profile": "I'm Dana, a data engineer in Lisbon.",
        "user_instructions": ""}, "metadata": {"is_visually_hidden_from_conversation": True}}, "parent": None,
        "children": []}
    for conv in convs:
        conv["mapping"]["ctx"] = context
        root = next(k for k, n in conv["mapping"].items() if n.get("parent") is None and k != "ctx")
        conv["mapping"][root]["parent"] = "ctx"
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(convs))
    personas = [m for m in memories(checked(chatgpt.read(path))).values() if m["kind"] == "persona"]
    assert [(p["content"], p["metadata"]["speaker"]) for p in personas] == [
        ("I'm Dana, a data engineer in Lisbon.", "user")]  # once, though every conversation carries it


def test_the_chatgpt_export_zip_reads_as_its_conversations_json(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(CHATGPT, folder / "conversations.json")
    expected = list(chatgpt.read(CHATGPT))
    assert list(chatgpt.read(zip_folder(folder, tmp_path / "chatgpt.zip"))) == expected
    monkeypatch.setattr(json_stream, "CHUNK", 97)  # streamed in small reads, the result is the same
    assert list(chatgpt.read(CHATGPT)) == expected


def test_a_chatgpt_conversation_without_its_mapping_is_named(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([{"id": "c1", "title": "Broken one"}]))
    with pytest.raises(Invalid, match=r"^conversations.json\[0\] \(Broken one\): a conversation needs an id and a "
                                      r"mapping"):
        list(chatgpt.read(path))


K1, K2 = "claude-2b0c6a4e-1d8f-4f7a-9c3b-5e2d1a0f9b87", "claude-3c1d7b5f-2e90-4a8b-8d4c-6f3e2b1a0c98"


def test_a_claude_conversation_is_an_episode_of_its_messages_tools_and_attachments():
    objects = checked(claude.read(CLAUDE))
    assert [(e["id"], e["task"], e["closed_at"]) for e in of(objects, "episode")] == [
        (K1, "Moving to Lisbon", "2025-03-02T09:21:30.000Z"), (K2, "", "2025-04-11T19:45:00.000Z")]
    mems = memories(objects)
    first = [(m["kind"], m["metadata"]["role"], m["content"]) for m in mems.values() if m.get("episode") == K1]
    assert first == [
        ("note", "user", "Alfama\nEstrela\nCampo de Ourique"),
        ("message", "user", "I'm Dana — I just moved to Lisbon for the new job. Which neighbourhoods are walkable?"),
        ("tool_call", "assistant", "web_search(query=most walkable neighbourhoods Lisbon)"),
        ("message", "assistant", "Campo de Ourique and Estrela are flat and walkable; Alfama is charming but steep."),
        ("message", "user", "Great. Also, I prefer café com leite over espresso.")]
    answer = mems["claude-0a1b2c3d-0000-4000-8000-000000000002"]
    assert answer["metadata"]["thinking"] == "Compare hills and transit for each area."
    search = mems["claude-0a1b2c3d-0000-4000-8000-000000000002-tool-1"]
    assert search["tool"] == {"name": "web_search", "arguments": {"query": "most walkable neighbourhoods Lisbon"},
                              "result": "Walking in Lisbon — https://example.com/lisbon-walks", "status": "ok"}
    attachment = mems["claude-0a1b2c3d-0000-4000-8000-000000000001-attachment-0"]
    assert attachment["metadata"]["attachment"] == {"file_name": "shortlist.txt", "file_type": "text/plain",
                                                    "file_size": 58}
    assert mems["claude-0a1b2c3d-0000-4000-8000-000000000001"]["metadata"]["files"] == ["map.png"]
    assert mems["claude-0a1b2c3d-0000-4000-8000-000000000004"]["content"] == \
        "Suggest a dinner without dairy, I'm lactose intolerant."  # no content blocks: its text


def test_the_claude_export_zip_adds_claudes_memory_as_notes(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(CLAUDE, folder / "conversations.json")
    (folder / "memories.json").write_text(json.dumps([{
        "conversations_memory": "Dana is a data engineer who moved to Lisbon in 2025.",
        "project_memories": {"5b1e": "Purpose: plan the Lisbon move."}, "account_uuid": "c7e1"}]))
    objects = checked(claude.read(zip_folder(folder, tmp_path / "claude.zip")))
    notes = [m for m in memories(objects).values() if "claude_memory" in m["metadata"]]
    assert [(n["content"], n["metadata"]) for n in notes] == [
        ("Dana is a data engineer who moved to Lisbon in 2025.", {"claude_memory": "conversations"}),
        ("Purpose: plan the Lisbon move.", {"claude_memory": "project", "project": "5b1e"})]
    assert len(objects) == len(list(claude.read(CLAUDE))) + 2


def test_a_claude_conversation_without_chat_messages_is_named(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([{"uuid": "u1", "name": "Old", "messages": []}]))
    with pytest.raises(Invalid, match=r"^conversations.json\[0\] \(Old\): a conversation needs a uuid and "
                                      r"chat_messages"):
        list(claude.read(path))
