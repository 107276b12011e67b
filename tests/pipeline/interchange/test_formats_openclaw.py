"""OpenClaw native memory: each session transcript is an episode of messages, tool calls and images;
each chunk of the memory index a note with its vector; a state directory, its ZIP and one
session file all read; a broken line or index is named."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import openclaw
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, memories, of, zip_folder

STATE = DATA / "openclaw" / "state"
MAIN = "openclaw-main-4b8e1c2a-6f3d-4e9a-b1c7-2d5f8a0e3b61"
OPS = "openclaw-ops-9d2f7a41-0c3e-4b58-a6e1-f3c8b2d49e07"


def test_a_state_directory_becomes_one_episode_per_session_and_a_note_per_memory_chunk():
    objects = checked(openclaw.read(STATE))
    assert [(e["id"], e["task"], e["opened_at"], e["closed_at"]) for e in of(objects, "episode")] == [
        (MAIN, "Remember: my favourite fruit is pineapple — 我喜欢吃菠萝.", "2026-05-08T03:06:58.000Z",
         "2026-05-08T03:08:15.000Z"),
        (OPS, "Restart the nginx container.", "2026-05-09T08:00:00.000Z", "2026-05-09T08:00:11.000Z")]
    mems = memories(objects)
    session = [(m["id"].removeprefix(MAIN + "-"), m["kind"], m["metadata"]["role"], m["content"])
               for m in mems.values() if m.get("episode") == MAIN]
    assert session == [
        ("a1", "message", "user", "Remember: my favourite fruit is pineapple — 我喜欢吃菠萝."),
        ("a2", "message", "assistant", "Noted: pineapple is your favourite fruit."),
        ("a3", "message", "user", "What is the disk usage of /var/log?"),  # its channel metadata block is gone
        ("a4", "message", "assistant", "Let me check."),
        ("tool-toolu_01", "tool_call", "assistant", "exec(command=du -sh /var/log)"),
        ("a6", "message", "assistant", "/var/log uses 1.2G.")]
    assert mems[f"{MAIN}-a2"]["metadata"]["thinking"] == "The user states a preference; acknowledge it."
    assert mems[f"{MAIN}-a2"]["metadata"]["model"] == "claude-sonnet-4-5"
    assert mems[f"{MAIN}-tool-toolu_01"]["tool"] == {"name": "exec", "arguments": {"command": "du -sh /var/log"},
                                                     "result": "1.2G\t/var/log", "status": "ok", "duration_ms": 1000}
    ops = [m for m in mems.values() if m.get("episode") == OPS]
    assert [m["kind"] for m in ops] == ["message", "image", "tool_call", "message"]
    assert ops[1]["content"] == "[image image/png]" and ops[1]["metadata"]["mime"] == "image/png"
    assert ops[2]["tool"]["status"] == "error" and ops[2]["tool"]["result"].startswith("Error response from daemon")
    chunks = [m for m in mems.values() if m["id"].startswith("openclaw-main-chunk-")]
    assert [(c["id"], c["temporal"]["created_at"], c["metadata"]["openclaw"]["path"]) for c in chunks] == [
        ("openclaw-main-chunk-c0f1", "2026-05-06T20:40:00.000Z", "MEMORY.md"),
        ("openclaw-main-chunk-c0f2", "2026-05-07T10:33:20.000Z", "memory/2026-05-07.md"),
        ("openclaw-main-chunk-c0f3", "2026-05-08T03:08:20.000Z", "memory/2026-05-08.md")]  # stored in seconds
    assert chunks[0]["content"].startswith("# Long-term memory\n\n- Dana prefers tabs over spaces.")
    assert chunks[0]["metadata"]["openclaw"] == {"agent": "main", "path": "MEMORY.md", "start_line": 1, "end_line": 6,
                                                 "source": "memory"}
    assert [(v["memory_id"], v["model"], v["dimensions"]) for v in of(objects, "vector")] == [
        (c["id"], "text-embedding-3-small", 3) for c in chunks]


def test_a_zip_of_the_state_directory_reads_the_same(tmp_path):
    assert list(openclaw.read(zip_folder(STATE, tmp_path / "openclaw.zip", prefix=".openclaw/"))) == \
        list(openclaw.read(STATE))


def test_one_session_file_reads_as_its_episode(tmp_path):
    path = STATE / "agents" / "ops" / "sessions" / "9d2f7a41-0c3e-4b58-a6e1-f3c8b2d49e07.jsonl"
    objects = checked(openclaw.read(path))
    assert [o["id"] for o in of(objects, "episode")] == [OPS]
    copy = tmp_path / "upload.jsonl"  # an upload loses its folders: the agent is then `main`
    shutil.copy(path, copy)
    assert [o["id"] for o in of(openclaw.read(copy), "episode")] == ["openclaw-main-upload"]


def test_a_line_that_is_not_json_is_named_with_its_file_and_number(tmp_path):
    state = tmp_path / "state"
    shutil.copytree(STATE, state)
    session = state / "agents" / "ops" / "sessions" / "9d2f7a41-0c3e-4b58-a6e1-f3c8b2d49e07.jsonl"
    session.write_text(session.read_text() + '{"type": "message", "message": {"role": \n')
    with pytest.raises(Invalid, match=r"^9d2f7a41-0c3e-4b58-a6e1-f3c8b2d49e07.jsonl line 6: not valid JSON"):
        list(openclaw.read(state))


def test_a_memory_index_without_the_chunks_columns_is_refused(tmp_path):
    state = tmp_path / "state"
    (state / "memory").mkdir(parents=True)
    conn = sqlite3.connect(state / "memory" / "main.sqlite")
    conn.execute("CREATE TABLE chunks (id TEXT, body TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(Invalid, match=r"^memory/main.sqlite: table chunks lacks path, text, updated_at"):
        list(openclaw.read(state))


def test_inbound_wrapping_is_stripped_from_user_messages():
    wrapped = ("<memory_context>old recall</memory_context>[Tue 2026-03-03 21:58 GMT+8] "
               "Sender (untrusted metadata):\n```json\n{\"label\": \"Dana\"}\n```\n"
               "[message_id: 4a2f-91]Book a table for two [[reply_to_current]]")
    assert openclaw.strip_inbound(wrapped) == "Book a table for two"
    assert openclaw.strip_inbound("plain text stays") == "plain text stays"
