"""basic-memory notes: each note a note trace, each observation a tagged note of its own linked to
its note, each relation (and wiki link in prose) a link to the note it names."""

from __future__ import annotations

import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import basic_memory
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, links, memories, zip_folder

NOTES = DATA / "basic_memory" / "notes"
BREWING, ORIGINS, DANA = ("basic-memory-coffee.coffee-brewing-methods", "basic-memory-coffee.coffee-bean-origins",
                          "basic-memory-people.dana-okafor")


def _observations(mems, note_id):
    return [(m["content"], m["tags"], m["metadata"]["basic_memory"]["observation"].get("context"))
            for m in mems.values() if note_id in m.get("source_ids", [])]


def test_notes_observations_and_relations_become_notes_and_links():
    objects = checked(basic_memory.read(NOTES))
    mems = memories(objects)
    brewing = mems[BREWING]
    assert brewing["content"].startswith("# Coffee Brewing Methods\n\nNotes from a month of comparing brewers")
    assert brewing["tags"] == ["coffee", "brewing"]
    assert brewing["temporal"] == {"created_at": "2025-03-04T08:00:00.000Z", "updated_at": "2025-03-09T10:30:00.000Z"}
    assert brewing["metadata"]["basic_memory"]["front_matter"] == {
        "title": "Coffee Brewing Methods", "type": "note", "permalink": "coffee/coffee-brewing-methods",
        "tags": ["coffee", "brewing"], "created": "2025-03-04T08:00:00.000Z", "modified": "2025-03-09T10:30:00.000Z"}
    assert brewing["metadata"]["basic_memory"]["unresolved_relations"] == [
        {"type": "brewed with", "target": "Hario V60", "context": "the default brewer"}]
    assert _observations(mems, BREWING) == [
        ("Pour over gives more clarity than a French press #brewing", ["method", "brewing"], None),
        ("Water at 94 °C extracts light roasts best #temperature", ["tip", "temperature"], "for light roasts"),
        ("Dana drinks café com leite on weekdays #dana #milk", ["preference", "dana", "milk"], None),
        ("Grind size matters more than the kettle #grinding", ["grinding"], None)]
    assert _observations(mems, DANA) == [("Staff data engineer at Datadog #work", ["role", "work"], None),
                                         ("Lives in Lisbon #home", ["location", "home"], None)]  # a task is none
    assert mems[DANA]["metadata"]["basic_memory"]["type"] == "person"
    assert mems[DANA]["metadata"]["basic_memory"]["unresolved_relations"] == [
        {"type": "works_with", "target": "Kestrel Cluster"}]
    note_links = {l for l in links(objects) if l[1] != "part_of" or not l[0].startswith(tuple(
        f"{n}-obs" for n in (BREWING, ORIGINS, DANA)))}
    assert note_links == {(BREWING, "relates_to", ORIGINS), (BREWING, "preferred_by", DANA),
                          (DANA, "drinks", BREWING), (DANA, "links_to", BREWING), (ORIGINS, "part_of", BREWING)}
    observation_links = links(objects) - note_links
    assert len(observation_links) == 8 and {to for _, _, to in observation_links} == {BREWING, ORIGINS, DANA}


def _timeless(objects):
    """Without times: a note that names none takes its file's, which a ZIP keeps only to two seconds."""
    return [{k: v for k, v in o.items() if k not in ("temporal", "created_at")} for o in objects]


def test_a_zip_of_the_project_and_one_note_read_as_the_folder_does(tmp_path):
    assert _timeless(basic_memory.read(zip_folder(NOTES, tmp_path / "notes.zip"))) == \
        _timeless(basic_memory.read(NOTES))
    one = list(memories(checked(basic_memory.read(NOTES / "people" / "dana-okafor.md"))).values())
    assert [m["id"] for m in one][0] == DANA and len(one) == 3  # its links lead to notes not in this import


def test_observation_and_relation_lines_are_read_as_basic_memory_reads_them():
    assert basic_memory.parse_observation("[tech] Uses SQLite #db (for speed)") == {
        "category": "tech", "content": "Uses SQLite #db", "tags": ["db"], "context": "for speed"}
    for not_one in ("[ ] a task", "[x] done", "[00:01:02] transcript line", "[text](http://x)", "[[Link]]",
                    "plain list item"):
        assert basic_memory.parse_observation(not_one) is None, not_one
    assert basic_memory.parse_relation('"depends on" [[API Spec]] (since v2)') == {
        "type": "depends on", "target": "API Spec", "context": "since v2"}
    assert basic_memory.parse_relation("see the notes in [[API Spec]]") is None  # prose: an inline link
    assert basic_memory.parse_relation("implements [[API Spec]] and more") is None
    observations, relations = basic_memory.parse_body(
        "> - [info] a callout, not an observation\n\n```\n- [code] not one either\n```\n- [fact] one #yes\n")
    assert [o["content"] for o in observations] == ["one #yes"] and relations == []


def test_front_matter_that_is_not_yaml_is_named(tmp_path):
    note = tmp_path / "bad.md"
    note.write_text("---\ntitle: [unclosed\npermalink: bad\n---\nbody\n")
    with pytest.raises(Invalid, match=r"^bad.md: front matter is not valid YAML"):
        list(basic_memory.read(note))
