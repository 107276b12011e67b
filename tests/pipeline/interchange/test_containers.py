"""The containers read back exactly what they were written with: `.memos.jsonl`, `.memos.zip`, the
Markdown vault; a cut or altered file is refused; the object order rules hold."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from pipeline.interchange.bundle import checked
from pipeline.interchange.jsonl import JsonlBundle, write_jsonl
from pipeline.interchange.model import LineError, iso
from pipeline.interchange.sources import MARKDOWN, MEMOS, ROWS, detect_own, open_source
from pipeline.interchange.vault import RELATIONS_MARK, VaultBundle, file_objects, memory_file, vault_files
from pipeline.interchange.zip_bundle import ZipBundle, write_zip

HEADER = {"object": "header", "format": "memos-interchange", "version": "1.0", "created_at": iso(0),
          "producer": {"name": "memos", "version": "0.1.0"}, "cubes": [{"id": "agent-a"}]}
FACT = {"subject": "Zoë", "relation": None, "predicate": "lives_in", "object": "Zürich", "polarity": True,
        "confidence": 0.9, "valid_from": 1000, "valid_to": None, "source_ids": ["m1"], "single_valued": True,
        "rule": "explicit", "evidence": "I live in Zürich."}


def objects() -> list[dict]:
    return [
        {"object": "episode", "id": "ep-1", "cube": "agent-a", "task": "Écrire", "agent": "a", "outcome": "success",
         "opened_at": iso(10), "closed_at": iso(20)},
        {"object": "memory", "id": "m1", "cube": "agent-a", "agent": "a", "tier": "trace", "kind": "message",
         "content": "I live in Zürich.\n\n## Relations\nnot a real section", "status": "active", "version": 2,
         "tags": ["ünï"], "metadata": {"speaker": "Zoë", "n": 1.5, "when": "2024-01-01"}, "source_ids": [],
         "episode": "ep-1", "tool": {"name": "t", "arguments": {"a": 1}, "result": {"x": [1, "y"]}, "status": "ok"},
         "feedback": 1, "temporal": {"created_at": iso(11), "updated_at": iso(12)}, "provenance": {"platform": "memos"}},
        {"object": "vector", "memory_id": "m1", "model": "all-MiniLM-L6-v2", "dimensions": 3, "vector": [0.5, -0.25, 1.0]},
        {"object": "version", "memory_id": "m1", "version": 1, "kind": "message", "content": "I lived", "tags": [],
         "metadata": {}, "updated_at": iso(11)},
        {"object": "feedback", "memory_id": "m1", "signal": "useful", "note": "très bien", "agent": "a", "at": iso(13)},
        {"object": "link", "from": "m1", "to": "ep-1", "type": "part_of_episode", "created_at": iso(12), "metadata": {}},
        {"object": "memory", "id": "fact-1", "cube": "agent-a", "agent": "a", "tier": "world", "kind": "fact",
         "content": "Zoë lives in Zürich.", "status": "superseded", "version": 1, "tags": [], "metadata": FACT,
         "source_ids": ["m1"], "feedback": 0,
         "temporal": {"created_at": iso(11), "updated_at": iso(11), "valid_from": iso(1000), "valid_until": iso(2000)},
         "provenance": {"platform": "memos"}},
        {"object": "link", "from": "fact-1", "to": "m1", "type": "derived_from", "created_at": iso(11),
         "metadata": {"score": 0.5}},
    ]


def test_jsonl_reads_back_every_object_it_wrote():
    data = b"".join(write_jsonl(HEADER, objects()))
    bundle = JsonlBundle(io.BytesIO(data))
    assert list(bundle) == objects()
    assert bundle.manifest["counts"] == {"episode": 1, "memory": 2, "vector": 1, "version": 1, "feedback": 1, "link": 2}


def test_a_jsonl_cut_short_or_changed_is_refused():
    data = b"".join(write_jsonl(HEADER, objects()))
    cut = data[: data.rindex(b'{"object":"manifest"')]
    with pytest.raises(LineError, match="manifest: missing"):
        list(JsonlBundle(io.BytesIO(cut)))
    changed = data.replace("très bien".encode(), b"tres bien")
    with pytest.raises(LineError, match=r"parts\.feedback\.sha256"):
        list(JsonlBundle(io.BytesIO(changed)))
    with pytest.raises(LineError, match="starts with a header"):
        JsonlBundle(io.BytesIO(data.split(b"\n", 1)[1]))


def test_zip_reads_back_every_object_with_vectors_merged_after_their_memory(tmp_path: Path):
    out = tmp_path / "b.memos.zip"
    with out.open("wb") as f:
        write_zip(HEADER, objects(), f)
    assert list(ZipBundle(out)) == objects()
    names = set(zipfile.ZipFile(out).namelist())
    assert {"manifest.json", "objects.jsonl", "vectors.parquet", "records.parquet", "links.parquet",
            "vault/trace/message/m1.md", "vault/world/fact/fact-1.md", "vault/episodes/ep-1.md"} <= names
    assert detect_own(out) == MEMOS


def test_a_zip_whose_objects_changed_is_refused(tmp_path: Path):
    out = tmp_path / "b.memos.zip"
    with out.open("wb") as f:
        write_zip(HEADER, objects(), f)
    src = zipfile.ZipFile(out)
    changed = tmp_path / "changed.memos.zip"
    with zipfile.ZipFile(changed, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data.replace(b"I lived", b"I  lived") if name == "objects.jsonl" else data)
    with pytest.raises(LineError, match="objects.jsonl: sha256"):
        list(ZipBundle(changed))


def test_the_vault_reads_back_every_object_but_vectors(tmp_path: Path):
    root = tmp_path / "vault"
    for name, data in vault_files(objects()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    assert detect_own(root) == MARKDOWN
    back = list(VaultBundle(root, now=0))
    assert back == [o for o in objects() if o["object"] != "vector"]


def test_a_relation_line_written_by_hand_becomes_a_link():
    memory, link = objects()[1], objects()[5]
    _, data = memory_file(memory, [link])
    text = data.decode()
    assert f"{RELATIONS_MARK}\n## Relations\n\n- part_of_episode [[ep-1]]\n" in text
    text += "- related_to [[fact-1]]\n"
    read = list(file_objects("trace/message/m1.md", text, now=99))
    assert read[0]["content"] == memory["content"]  # the body's own "## Relations" is content, not links
    assert read[-1] == {"object": "link", "from": "m1", "to": "fact-1", "type": "related_to", "created_at": iso(99)}


def test_a_skill_is_a_skill_md_with_name_and_description_first():
    skill = {"object": "memory", "id": "skill-1", "tier": "skill", "kind": "skill", "content": "# Deploy\n",
             "metadata": {"id": "skill-1", "name": "Deploy", "description": "Ship it"},
             "temporal": {"created_at": iso(1)}}
    path, data = memory_file(skill, [])
    assert path == "skill/skill-1/SKILL.md"
    assert data.decode().startswith("---\nname: Deploy\ndescription: Ship it\nid: skill-1\n")


@pytest.mark.parametrize("order, problem", [
    ([1, 0], None),  # an episode may follow memories
    ([2], "must come right after that memory"),  # a vector with no memory before it
    ([1, 6, 4], "must come right after that memory"),  # feedback after another memory
    ([1, 5, 3], "must come right after that memory"),  # a link ends the memory's group
])
def test_what_belongs_to_a_memory_must_follow_it(order, problem):
    stream = [(i, objects()[i]) for i in order]
    if problem is None:
        assert len(list(checked(stream))) == len(order)
        return
    with pytest.raises(LineError, match=problem):
        list(checked(stream))


def test_a_table_of_rows_is_read_as_written_without_widening_metadata(tmp_path: Path):
    """Issue 15: DuckDB's read_json_auto gave each row the metadata keys of every other row, as nulls."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"content": "one", "metadata": {"a": 1}, "created_at": "2024-01-01T00:00:00Z"}\n'
                    '{"content": "two", "metadata": {"b": 2}, "tool": {"name": "t", "result": "ok"}, '
                    '"created_at": "2024-01-02T00:00:00Z"}\n')
    assert detect_own(rows) == ROWS
    got = list(open_source(rows, "auto", now=0).read())
    assert [o["metadata"] for o in got] == [{"a": 1}, {"b": 2}]
    assert got[1]["tool"] == {"name": "t", "result": "ok"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"content": "fine"}\n{"content": ""}\n')
    with pytest.raises(LineError, match="^line 2: content"):
        list(open_source(bad, "auto", now=0).read())
