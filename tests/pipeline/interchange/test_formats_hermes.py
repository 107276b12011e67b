"""Hermes `MEMORY.md` and `USER.md`: entries separated by a `§` line become notes and user personas,
with ids taken from their text, so an edited file re-imports only what changed."""

from __future__ import annotations

import os
import shutil

import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import hermes
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, memories

MEMORIES = DATA / "hermes" / "memories"


def test_memory_md_entries_become_notes_and_user_md_entries_user_personas(tmp_path):
    home = tmp_path / ".hermes"
    shutil.copytree(MEMORIES, home / "memories")
    for name in ("MEMORY.md", "USER.md"):
        os.utime(home / "memories" / name, (1_778_000_000, 1_778_000_000))
    mems = list(memories(checked(hermes.read(home))).values())
    assert [(m["kind"], m["content"], m["temporal"]["created_at"]) for m in mems] == [
        ("note", "The staging cluster is called kestrel; prod is condor.", "2026-05-05T16:53:17.000Z"),
        ("note", "Run database migrations with `make migrate`, never by hand.\nThey need the VPN up first.",
         "2026-05-05T16:53:18.000Z"),
        ("note", "Deploy windows: Tuesday and Thursday, 10:00–16:00 Lisbon time.", "2026-05-05T16:53:19.000Z"),
        ("persona", "Name: Dana Okafor. Prefers concise answers.", "2026-05-05T16:53:17.000Z"),
        ("persona", "Speaks Portuguese and English; writes commit messages in English.", "2026-05-05T16:53:18.000Z"),
        ("persona", "Lactose intolerant — no dairy suggestions.", "2026-05-05T16:53:19.000Z")]
    assert [m["metadata"] for m in mems[3:]] == [{"hermes": {"file": "USER.md", "index": i}, "speaker": "user"}
                                                 for i in range(3)]
    assert mems[0]["tags"] == ["hermes", "agent-notes"] and mems[3]["tags"] == ["hermes", "user-profile"]
    assert all(m["id"].startswith(("hermes-note-", "hermes-persona-")) for m in mems)


def test_an_edited_file_keeps_the_ids_of_the_entries_it_did_not_change(tmp_path):
    path = tmp_path / "MEMORY.md"
    shutil.copy(MEMORIES / "MEMORY.md", path)
    before = {m["content"]: m["id"] for m in hermes.read(path)}
    path.write_text(path.read_text().replace("prod is condor", "prod is osprey") + "\n§\nNew entry.\n§\n§\nNew entry.")
    after = {m["content"]: m["id"] for m in hermes.read(path)}
    kept = set(before.values()) & set(after.values())
    assert len(kept) == 2 and len(after) == 4  # one entry edited, one added once though written twice
    assert after["The staging cluster is called kestrel; prod is osprey."] not in before.values()


def test_entries_are_split_as_hermes_writes_them():
    assert hermes.split_entries("a\r\n§\r\nb\n  §  \n\n§\nc\n§") == ["a", "b", "c"]
    assert hermes.split_entries("one entry with a § inside") == ["one entry with a § inside"]


def test_a_hermes_file_under_another_name_reads_as_notes(tmp_path):
    upload = tmp_path / "upload.md"
    shutil.copy(MEMORIES / "USER.md", upload)
    assert hermes.detect(upload)
    assert [m["kind"] for m in hermes.read(upload)] == ["note"] * 3
    plain = tmp_path / "notes.md"
    plain.write_text("just text")
    assert not hermes.detect(plain)
    with pytest.raises(Invalid, match=r"^notes.md: expected MEMORY.md or USER.md"):
        list(hermes.read(plain))


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "MEMORY.md"
    path.write_bytes(b"caf\xe9\n\xa7\nok")
    with pytest.raises(Invalid, match=r"^MEMORY.md: not UTF-8 text \(byte 3\)"):
        list(hermes.read(path))
