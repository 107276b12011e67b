"""The registry of other systems' formats: `--format auto` names the right one for every fixture,
refuses what is in none of them with a clear typed error; and the helpers every reader shares
(the streaming JSON reader, RFC 8785 canonical JSON, stable ids)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from pipeline.errors import Invalid, UnknownFormat
from pipeline.interchange import formats
from pipeline.interchange.formats import json_stream
from pipeline.interchange.formats.canonical_json import canonical, sha256_of
from pipeline.interchange.formats.json_stream import JsonStreamError, array_items, object_members
from pipeline.interchange.formats.line_objects import is_id, source_id, time_iso
from tests.pipeline.interchange.foreign_fixtures import DATA, openmemory_zip, zip_folder

FIXTURES = [
    ("pam/export", "pam"),
    ("pam/export/memory-store.json", "pam"),
    ("memos_plugin/memos-export-2026-05-08.json", "memos-plugin"),
    ("openclaw/state", "openclaw"),
    ("openclaw/state/agents/main/sessions/4b8e1c2a-6f3d-4e9a-b1c7-2d5f8a0e3b61.jsonl", "openclaw"),
    ("hermes/memories", "hermes"),
    ("hermes/memories/MEMORY.md", "hermes"),
    ("hermes/memories/USER.md", "hermes"),
    ("mem0/get_all.json", "mem0"),
    ("mem0/platform_get_all.json", "mem0"),
    ("mem0/openmemory_backup", "mem0"),
    ("mem0/openmemory_backup/memories.json", "mem0"),
    ("letta/composio_github_star_agent.af", "letta"),
    ("letta/memgpt_agent.af", "letta"),
    ("letta/loop.af", "letta"),
    ("basic_memory/notes", "basic-memory"),
    ("basic_memory/notes/people/dana-okafor.md", "basic-memory"),
    ("chatgpt/conversations.json", "chatgpt"),
    ("claude/conversations.json", "claude"),
]


@pytest.mark.parametrize(("rel", "name"), FIXTURES, ids=[r for r, _ in FIXTURES])
def test_auto_detection_names_the_format_of_each_fixture(rel, name):
    assert formats.detect(DATA / rel) == name


@pytest.mark.parametrize(("rel", "name"), [("pam/export", "pam"), ("openclaw/state", "openclaw"),
                                           ("hermes/memories", "hermes"), ("basic_memory/notes", "basic-memory")])
def test_a_zip_of_a_folder_is_detected_as_the_folder_is(tmp_path, rel, name):
    assert formats.detect(zip_folder(DATA / rel, tmp_path / "upload.zip")) == name
    assert formats.detect(zip_folder(DATA / rel, tmp_path / "wrapped.zip", prefix="export-2026/")) == name


def test_exports_inside_their_own_zip_are_detected(tmp_path):
    assert formats.detect(openmemory_zip(tmp_path / "memories_export_dana.zip")) == "mem0"
    chatgpt = tmp_path / "chatgpt"
    chatgpt.mkdir()
    shutil.copy(DATA / "chatgpt/conversations.json", chatgpt / "conversations.json")
    (chatgpt / "user.json").write_text('{"id": "user-1"}')
    assert formats.detect(zip_folder(chatgpt, tmp_path / "chatgpt-export.zip")) == "chatgpt"
    claude = tmp_path / "claude"
    claude.mkdir()
    shutil.copy(DATA / "claude/conversations.json", claude / "conversations.json")
    assert formats.detect(zip_folder(claude, tmp_path / "claude-export.zip")) == "claude"


def test_an_upload_stored_under_the_servers_own_name_is_still_detected(tmp_path):
    """The server keeps only an upload's suffix (`upload.md`, `upload.json`), so names cannot decide."""
    for rel, suffix, name in [("hermes/memories/MEMORY.md", ".md", "hermes"),
                              ("chatgpt/conversations.json", ".json", "chatgpt"),
                              ("claude/conversations.json", ".json", "claude"),
                              ("letta/loop.af", ".af", "letta"),
                              ("pam/export/memory-store.json", ".json", "pam"),
                              ("openclaw/state/agents/ops/sessions/9d2f7a41-0c3e-4b58-a6e1-f3c8b2d49e07.jsonl",
                               ".jsonl", "openclaw")]:
        target = tmp_path / name / f"upload{suffix}"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(DATA / rel, target)
        assert formats.detect(target) == name, rel


GARBAGE = {
    "random.bin": bytes(range(256)) * 8,
    "empty.json": b"",
    "other.json": b'{"name": "not a memory export", "items": [1, 2, 3]}',
    "list.json": b'[{"title": "a list of something else", "body": "no mapping, no chat_messages"}]',
    "table.csv": b"id,text\n1,hello\n",
    "plain.md": b"# Notes\n\nJust some Markdown without front matter.\n",
    "lines.jsonl": b'{"event": "click"}\n{"event": "scroll"}\n',
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_a_file_in_no_known_format_is_refused_with_a_clear_error(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(GARBAGE[name])
    with pytest.raises(UnknownFormat) as exc:
        formats.detect(path)
    assert exc.value.code == "unknown_format" and exc.value.status == 415
    assert exc.value.message.startswith(f"{name}: not in any format this server imports")
    assert all(n in exc.value.message for n in formats.NAMES)


def test_an_empty_folder_a_zip_of_nothing_known_and_a_missing_path_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "misc").mkdir()
    (tmp_path / "misc" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    for path in (tmp_path / "empty", zip_folder(tmp_path / "misc", tmp_path / "misc.zip"), tmp_path / "nope.json"):
        with pytest.raises(UnknownFormat):
            formats.detect(path)


def test_readers_and_writers_are_looked_up_by_name():
    assert formats.NAMES == ("pam", "memos-plugin", "letta", "mem0", "chatgpt", "claude", "openclaw", "hermes",
                             "basic-memory")
    assert formats.EXPORT_NAMES == ("pam", "memos-plugin", "letta", "mem0")
    assert formats.reader("claude") is formats.claude.read
    assert formats.writer("letta") is formats.letta.write
    with pytest.raises(UnknownFormat, match="format 'evernote' is not one of pam, "):
        formats.reader("evernote")
    with pytest.raises(UnknownFormat, match="'chatgpt' can be imported but not exported"):
        formats.writer("chatgpt")


# --- the shared helpers -------------------------------------------------------------------------


def test_streamed_array_items_survive_every_chunk_boundary(monkeypatch):
    doc = ('[ {"a": "x\\"]}[{", "b": [1, 2, {"c": null}]}, "\\u00e9t\\u00e9 ☕", 3.5e2 , true,'
           ' {"nested": {"deep": ["]", "}"]}}, [] , {} ,-0.0]')
    expected = [{"a": 'x"]}[{', "b": [1, 2, {"c": None}]}, "été ☕", 350.0, True, {"nested": {"deep": ["]", "}"]}},
                [], {}, -0.0]
    for chunk in (1, 2, 3, 7, 64, 1 << 20):
        monkeypatch.setattr(json_stream, "CHUNK", chunk)
        assert list(array_items(io.BytesIO(doc.encode()))) == expected


def test_streamed_object_members_yield_arrays_item_by_item_and_the_rest_whole(monkeypatch):
    monkeypatch.setattr(json_stream, "CHUNK", 5)
    doc = b'\xef\xbb\xbf{"version": 1, "traces": [{"id": "t1"}, {"id": "t2"}], "meta": {"k": [1]}, "skills": []}'
    got = [(m.key, m.value, m.index) for m in object_members(io.BytesIO(doc), frozenset({"traces", "skills"}))]
    assert got == [("version", 1, None), ("traces", {"id": "t1"}, 0), ("traces", {"id": "t2"}, 1),
                   ("meta", {"k": [1]}, None)]


@pytest.mark.parametrize(("doc", "problem"), [
    (b'[{"a": 1}, {"b": ', "character 11: the file ends inside this value (is it cut short?)"),
    (b'[{"a": 1} {"b": 2}]', "character 10: expected ']', found '{'"),
    (b'[{"a": tru}]', "character 1: invalid JSON"),
    (b'{"a": 1}', "character 0: expected '[', found '{'"),
])
def test_a_broken_stream_names_the_character_it_breaks_at(doc, problem):
    with pytest.raises(JsonStreamError) as exc:
        list(array_items(io.BytesIO(doc)))
    assert str(exc.value).startswith(problem)


def test_canonical_json_writes_numbers_and_keys_as_rfc_8785_says():
    # Number forms from RFC 8785 appendix B and §3.2.2.3; keys ordered by UTF-16 code units (§3.2.3).
    assert [canonical(x) for x in (0.0, -0.0, 1.0, 1e21, 1e20, 1e-7, 1e-6, 5e-324, 1.7976931348623157e308,
                                   333333333.3333333, 9007199254740991, 295147905179352830000)] == \
        ["0", "0", "1", "1e+21", "100000000000000000000", "1e-7", "0.000001", "5e-324",
         "1.7976931348623157e+308", "333333333.3333333", "9007199254740991", "295147905179352830000"]
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB33 though its code point is higher.
    assert canonical({"\u20ac": 1, "\r": 2, "\U0001F600": 3, "1": 4, "\u00f6": 5, "\ufb33": 6}) == \
        '{"\\r":2,"1":4,"\u00f6":5,"\u20ac":1,"\U0001F600":3,"\ufb33":6}'
    assert canonical({"b": [True, None, "é\n\u0001"], "a": {}}) == '{"a":{},"b":[true,null,"é\\n\\u0001"]}'
    assert sha256_of([]) == "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"


def test_ids_from_a_source_stay_readable_when_they_can_and_never_collide_when_they_cannot():
    assert source_id("chatgpt", "67c5a1b0-0e1f", "u-1") == "chatgpt-67c5a1b0-0e1f-u-1"
    odd = [source_id("notes", "a/b c"), source_id("notes", "a_b c"), source_id("notes", "a/b_c")]
    assert all(is_id(i) for i in odd) and len(set(odd)) == 3
    assert is_id(source_id("x" * 300)) and source_id("x" * 300) != source_id("x" * 301)
    assert source_id("/", "") == source_id("/") and is_id(source_id("/"))


def test_source_times_in_seconds_milliseconds_or_iso_all_become_iso_utc():
    assert time_iso(1741000000.123) == "2025-03-03T11:06:40.123Z"
    assert time_iso(1741000000123) == "2025-03-03T11:06:40.123Z"
    assert time_iso("2025-06-01T10:00:00.123456-07:00") == "2025-06-01T17:00:00.123Z"
    assert time_iso("2025-06-01T10:00:00") == "2025-06-01T10:00:00.000Z"
    assert time_iso("1741000000") == "2025-03-03T11:06:40.000Z"
    assert time_iso(None, "fallback") == time_iso("not a time", "fallback") == time_iso(0, "fallback") == "fallback"


def test_a_format_error_is_the_one_typed_invalid_error(tmp_path):
    bad = tmp_path / "conversations.json"
    bad.write_text('[{"title": "cut', encoding="utf-8")
    with pytest.raises(Invalid) as exc:
        list(formats.reader("chatgpt")(bad))
    assert exc.value.code == "invalid" and exc.value.message.startswith("conversations.json: character 1:")
