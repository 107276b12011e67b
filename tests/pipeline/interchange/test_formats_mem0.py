"""mem0: the OpenMemory backup ZIP and `get_all` JSON read as notes (deleted memories left out);
our export in mem0's shape is what mem0's own `MemoryItem` model accepts, an OpenMemory backup its
import can parse, and both read back as what was written."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import uuid
import zipfile

import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import mem0
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, memories, openmemory_zip, our_export

# mem0 reads these when it is imported: telemetry off, its config dir a temp dir.
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("MEM0_DIR", tempfile.mkdtemp(prefix="mem0-config-"))

from mem0.configs.base import MemoryItem  # noqa: E402

BACKUP = DATA / "mem0" / "openmemory_backup"


def test_an_openmemory_backup_becomes_notes_with_categories_as_tags_and_deleted_ones_left_out(tmp_path):
    mems = list(memories(checked(mem0.read(openmemory_zip(tmp_path / "memories_export_dana.zip")))).values())
    assert [(m["id"], m["content"], m["tags"]) for m in mems] == [
        ("e1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8", "Prefers oat milk in coffee", ["preferences"]),
        ("f2b3c4d5-e6f7-4081-92a3-b4c5d6e7f809", "Works as a staff data engineer at Datadog", ["work"]),
        ("03c4d5e6-f708-4192-a3b4-c5d6e7f8091a", "Plant le jardin chaque printemps — aime les tomates anciennes",
         ["preferences", "archived"])]
    assert mems[2]["metadata"]["mem0"] == {
        "state": "archived", "archived_at": "2025-07-01T18:00:00+00:00", "metadata": {"lang": "fr"}, "app": "claude",
        "user_id": "dana", "status_history": [{"old_state": "active", "new_state": "archived",
                                               "changed_at": "2025-07-01T18:00:00+00:00"}]}
    assert mems[1]["temporal"] == {"created_at": "2025-06-03T12:00:00.000Z", "updated_at": "2025-09-01T09:00:00.000Z"}
    assert mems[0]["provenance"] == {"platform": "mem0", "platform_user_id": "dana", "extraction_method": "llm_inference"}


def test_the_backup_unpacked_and_its_memories_json_alone_read_the_same(tmp_path):
    expected = list(mem0.read(openmemory_zip(tmp_path / "b.zip")))
    assert list(mem0.read(BACKUP)) == expected
    assert list(mem0.read(BACKUP / "memories.json")) == expected


def test_a_backup_of_only_the_provider_neutral_lines_reads_from_them(tmp_path):
    path = tmp_path / "lines.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("export/memories.jsonl.gz", gzip.compress((BACKUP / "memories.jsonl").read_bytes()))
    mems = list(memories(checked(mem0.read(path))).values())
    assert [(m["content"], m["tags"]) for m in mems] == [
        ("Prefers oat milk in coffee", ["preferences"]), ("Works as a staff data engineer at Datadog", ["work"]),
        ("Plant le jardin chaque printemps — aime les tomates anciennes", ["preferences", "archived"])]
    assert mems[0]["metadata"]["mem0"] == {"state": "active", "metadata": {"source": "chat"}, "app": "claude"}


def test_get_all_json_becomes_notes_and_graph_relations_notes_of_their_own():
    mems = list(memories(checked(mem0.read(DATA / "mem0" / "get_all.json"))).values())
    assert [(m["content"], m["temporal"]["created_at"]) for m in mems] == [
        ("Name is Dana", "2025-06-01T17:00:00.123Z"),
        ("Is vegetarian and allergic to peanuts", "2025-06-01T17:00:01.000Z"),
        ("Likes to unwind with jazz on Friday evenings", "2025-06-03T03:15:00.000Z"),
        ("dana likes jazz", mems[3]["temporal"]["created_at"])]
    assert mems[2]["metadata"]["mem0"] == {"hash": "c3101a8c17efe8d87d7faf67d3ddaf63", "user_id": "dana",
                                           "agent_id": "music-bot", "run_id": "run-42", "actor_id": "dana",
                                           "role": "user"}
    assert mems[3]["tags"] == ["mem0-graph"]
    [platform] = memories(mem0.read(DATA / "mem0" / "platform_get_all.json")).values()
    assert platform["tags"] == ["work", "preferences"] and platform["content"] == "Prefers morning meetings before 10am"


def test_a_memory_without_its_text_is_named(tmp_path):
    path = tmp_path / "get_all.json"
    path.write_text(json.dumps({"results": [{"id": "m1", "memory": "ok"}, {"id": "m2", "memory": ""}]}))
    with pytest.raises(Invalid, match=r"^get_all.json: results\[1\]: a memory needs an id and its text"):
        list(mem0.read(path))


def test_our_export_in_get_all_shape_is_what_mem0s_memory_item_accepts(tmp_path):
    path = tmp_path / "dana.mem0.json"
    assert mem0.write(iter(our_export()), path) == 6
    items = json.loads(path.read_text())["results"]
    assert [i["id"] for i in items] == ["m-persona", "m-note", "summary-ep-deploy", "fact-new", "fact-likes",
                                        "skill-restart-service"]  # active memories, not conversation turns
    for item in items:
        MemoryItem(**{k: v for k, v in item.items() if k in MemoryItem.model_fields})
        assert item["hash"] == hashlib.md5(item["memory"].encode()).hexdigest()
        assert item["user_id"] == "agent-dana" and item["agent_id"] == "dana"
    assert items[1]["metadata"]["tier"] == "trace" and items[1]["metadata"]["tags"] == ["infra", "hosts"]


@pytest.mark.parametrize("target", ["dana.mem0.json", "dana.zip"])
def test_our_mem0_export_reads_back_as_the_memories_it_holds(tmp_path, target):
    written = our_export()
    mem0.write(iter(written), tmp_path / target)
    back = checked(mem0.read(tmp_path / target))
    originals = {o["id"]: o for o in written if o["object"] == "memory"}
    restored = memories(back)
    assert sorted(restored) == ["fact-likes", "fact-new", "m-note", "m-persona", "skill-restart-service",
                                "summary-ep-deploy"]
    for mid, record in restored.items():
        assert record == {k: v for k, v in originals[mid].items() if k != "episode"}
    assert sorted((o["object"], o["memory_id"]) for o in back if o["object"] != "memory") == [
        ("feedback", "fact-new"), ("skill_version", "skill-restart-service"), ("vector", "m-note"),
        ("version", "m-note")]


def test_our_openmemory_backup_has_what_openmemorys_import_reads(tmp_path):
    path = tmp_path / "dana.zip"
    mem0.write(iter(our_export()), path)
    with zipfile.ZipFile(path) as zf:
        payload = json.loads(zf.read("memories.json"))
        lines = [json.loads(x) for x in gzip.decompress(zf.read("memories.jsonl.gz")).splitlines()]
    # openmemory/api/app/routers/backup.py import_backup: UUID(m["id"]), categories by name, links by id.
    categories = {c["id"]: c["name"] for c in payload["categories"]}
    for m in payload["memories"]:
        uuid.UUID(m["id"])
        assert m["state"] == "active" and m["content"] and m["created_at"].endswith("Z")
        assert all(c in categories for c in m["category_ids"])
    assert sorted(categories.values()) == ["hosts", "infra"]
    assert {(link["memory_id"], link["category_id"]) for link in payload["memory_categories"]} == {
        (m["id"], c) for m in payload["memories"] for c in m["category_ids"]}
    assert [line["id"] for line in lines] == [m["id"] for m in payload["memories"]]
    assert {line["content"] for line in lines} == {m["content"] for m in payload["memories"]}
    assert payload["export_meta"]["version"] == "1" and payload["user"]["user_id"] == "agent-dana"
