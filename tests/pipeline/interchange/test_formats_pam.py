"""Portable AI Memory v1.0: a PAM export reads as traces, an episode, links and a vector; its
integrity block is enforced; our export written as PAM has the shape PAM's spec demands and
reads back as exactly what was written."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import pam
from pipeline.interchange.formats.canonical_json import sha256_of
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, links, memories, of, our_export, zip_folder

EXPORT = DATA / "pam" / "export"


def test_a_pam_export_becomes_traces_an_episode_links_and_a_vector():
    objects = checked(pam.read(EXPORT))
    mems = memories(objects)
    assert sorted(mems) == sorted(["conv-7f3a-msg-1", "conv-7f3a-msg-2", "conv-7f3a-msg-3", "mem-identity-01",
                                   "mem-pref-01", "mem-fact-old", "mem-fact-new", "mem-instr-01", "mem-skill-01",
                                   "mem-custom-01"])  # the retracted goal is not imported
    assert {i: m["kind"] for i, m in mems.items() if not i.startswith("conv-")} == {
        "mem-identity-01": "persona", "mem-instr-01": "persona", "mem-pref-01": "note", "mem-fact-old": "note",
        "mem-fact-new": "note", "mem-skill-01": "note", "mem-custom-01": "note"}
    old = mems["mem-fact-old"]
    assert old["status"] == "superseded" and old["content"] == "Works at Stripe as a data engineer."
    assert old["temporal"] == {"created_at": "2024-11-10T18:00:00.000Z", "valid_from": "2024-11-10T18:00:00.000Z",
                               "valid_until": "2025-09-01T00:00:00.000Z"}
    assert old["metadata"]["pam"]["type"] == "fact" and old["metadata"]["pam"]["status"] == "superseded"
    assert old["metadata"]["pam"]["confidence"] == {"initial": 0.9, "current": 0.6, "decay_model": "time_exponential",
                                                    "last_reinforced": None}
    assert old["provenance"] == {"platform": "claude", "extraction_method": "explicit_user_input",
                                 "extracted_at": "2024-11-10T18:00:00.000Z", "extractor": "gines/0.5.0"}
    custom = mems["mem-custom-01"]
    assert custom["content"] == "Is lactose intolerant — avoid dairy in recipe suggestions."
    assert custom["metadata"]["pam"]["custom_type"] == "dietary_restriction" and custom["tags"] == ["health"]
    assert of(objects, "episode") == [{"object": "episode", "id": "conv-7f3a", "task": "Moving to Lisbon",
                                       "outcome": "unknown", "opened_at": "2025-03-02T09:10:00.000Z",
                                       "closed_at": "2025-03-02T09:21:00.000Z"}]
    msg3 = mems["conv-7f3a-msg-3"]
    assert msg3["content"] == "Yes please. Also, I prefer café com leite over espresso."
    assert msg3["episode"] == "conv-7f3a" and msg3["metadata"]["role"] == "user"
    assert msg3["metadata"]["parts"] == [{"type": "image", "mime_type": "image/png", "ref": "files/map.png"}]
    assert links(objects) == {
        ("mem-fact-new", "supersedes", "mem-fact-old"), ("mem-pref-01", "related_to", "mem-custom-01"),
        ("mem-skill-01", "derived_from", "mem-fact-new"), ("mem-identity-01", "derived_from", "conv-7f3a"),
        ("mem-pref-01", "derived_from", "conv-7f3a")}
    related = next(o for o in of(objects, "link") if o["type"] == "related_to")
    assert related["metadata"] == {"id": "rel-02", "confidence": 0.6}
    assert of(objects, "vector") == [{"object": "vector", "memory_id": "mem-identity-01", "model": "example-model-4d",
                                      "dimensions": 4, "vector": [0.125, -0.5, 0.25, 0.75]}]


def test_the_store_file_a_zip_and_a_wrapped_zip_read_the_same_as_the_folder(tmp_path):
    expected = list(pam.read(EXPORT))
    assert list(pam.read(EXPORT / "memory-store.json")) == expected
    assert list(pam.read(zip_folder(EXPORT, tmp_path / "pam.zip"))) == expected
    assert list(pam.read(zip_folder(EXPORT, tmp_path / "wrapped.zip", prefix="dana-pam/"))) == expected


def test_reading_the_same_export_twice_gives_the_same_objects():
    assert list(pam.read(EXPORT)) == list(pam.read(EXPORT))


def _edited(tmp_path: Path, change) -> Path:
    folder = tmp_path / "edited"
    shutil.copytree(EXPORT, folder)
    store = json.loads((folder / "memory-store.json").read_text())
    change(store)
    (folder / "memory-store.json").write_text(json.dumps(store))
    return folder


def test_a_memory_changed_after_export_fails_the_integrity_check(tmp_path):
    folder = _edited(tmp_path, lambda s: s["memories"][1].update(content="Prefers espresso."))
    with pytest.raises(Invalid, match=r"^memory-store.json: integrity.checksum does not match the memories"):
        list(pam.read(folder))


def test_a_store_missing_memories_its_integrity_block_counts_is_refused(tmp_path):
    folder = _edited(tmp_path, lambda s: s["memories"].pop())
    with pytest.raises(Invalid, match=r"integrity.total_memories is 8 but the file holds 7 memories"):
        list(pam.read(folder))


def test_a_newer_major_pam_version_is_refused(tmp_path):
    folder = _edited(tmp_path, lambda s: s.update(schema_version="2.0"))
    with pytest.raises(Invalid, match=r"schema_version: PAM '2.0' is not 1.x"):
        list(pam.read(folder))


def test_a_memory_without_content_is_named_in_the_error(tmp_path):
    def blank(store: dict[str, Any]) -> None:
        store["memories"][0]["content"] = " "
        store.pop("integrity")
    with pytest.raises(Invalid, match=r"^memory mem-identity-01: content: missing or empty"):
        list(pam.read(_edited(tmp_path, blank)))


# --- writing ------------------------------------------------------------------------------------

_TYPES = {"fact", "preference", "skill", "context", "relationship", "goal", "instruction", "identity", "environment",
          "project", "custom"}
_MEMORY_KEYS = {"id", "type", "custom_type", "status", "content", "content_hash", "summary", "tags", "confidence",
                "temporal", "provenance", "access", "embedding_ref", "metadata"}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def pam_problems(store: dict[str, Any], files: dict[str, Any]) -> list[str]:
    """What PAM v1.0 (spec.md §3-§15, §25) requires of an export that this one breaks."""
    out = []
    if store.get("schema") != "portable-ai-memory" or not re.match(r"^\d+\.\d+$", store.get("schema_version", "")):
        out.append("schema / schema_version")
    if not re.match(r"^[a-zA-Z0-9_-]+/[0-9]+\.[0-9]+\.[0-9]+$", store.get("exported_by") or "x"):
        out.append("exported_by is not name/semver")
    if not store.get("owner", {}).get("id"):
        out.append("owner.id")
    ids = set()
    for m in store["memories"]:
        ids.add(m["id"])
        where = f"memory {m['id']}"
        if set(m) - _MEMORY_KEYS:
            out.append(f"{where}: unknown fields {sorted(set(m) - _MEMORY_KEYS)}")
        if m["type"] not in _TYPES or (m["type"] == "custom") != bool(m.get("custom_type")):
            out.append(f"{where}: type")
        if m.get("status") not in ("active", "superseded", "deprecated", "retracted", "archived"):
            out.append(f"{where}: status")
        if m["content_hash"] != pam.content_hash(m["content"]):
            out.append(f"{where}: content_hash")
        if any(not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", t) for t in m["tags"]) or len(set(m["tags"])) != len(m["tags"]):
            out.append(f"{where}: tags")
        t = m["temporal"]
        if not _ISO.match(t["created_at"]) or any(t.get(k) and not _ISO.match(t[k])
                                                  for k in ("updated_at", "valid_from", "valid_until")):
            out.append(f"{where}: temporal")
        if not re.fullmatch(r"[a-z0-9_-]{2,32}", m["provenance"]["platform"]):
            out.append(f"{where}: provenance.platform")
        if m["provenance"].get("extractor") and not re.match(r"^[a-zA-Z0-9_-]+/\d+\.\d+\.\d+$",
                                                             m["provenance"]["extractor"]):
            out.append(f"{where}: provenance.extractor")
        for k in ("initial", "current"):
            if "confidence" in m and not 0 <= m["confidence"][k] <= 1:
                out.append(f"{where}: confidence")
    for r in store.get("relations", []):
        if r["type"] not in ("supports", "contradicts", "extends", "supersedes", "related_to", "derived_from") \
                or r["from"] not in ids or r["to"] not in ids or set(r) - {"id", "from", "to", "type", "confidence",
                                                                           "created_at"}:
            out.append(f"relation {r['id']}")
    integrity = store["integrity"]
    if integrity["total_memories"] != len(store["memories"]) or \
            integrity["checksum"] != sha256_of(sorted(store["memories"], key=lambda m: m["id"])):
        out.append("integrity")
    for entry in store.get("conversations_index", []):
        conv = files.get(entry["storage"]["ref"])
        if conv is None:
            out.append(f"conversation {entry['id']}: file missing")
            continue
        derived = {m["id"] for m in store["memories"] if m["provenance"]["conversation_ref"] == entry["id"]}
        if set(entry["derived_memories"]) != derived or entry["message_count"] != len(conv["messages"]):
            out.append(f"conversation {entry['id']}: index")
        if conv.get("schema") != "portable-ai-memory-conversation" or not conv["provider"]["name"]:
            out.append(f"conversation {entry['id']}: schema")
        for msg in conv["messages"]:
            if msg["role"] not in ("user", "assistant", "system", "tool") or not _ISO.match(msg["created_at"]) \
                    or msg["content"]["type"] not in ("text", "multipart"):
                out.append(f"message {msg['id']}")
            if any(c.get("output") is not None and not isinstance(c["output"], str) for c in msg["tool_calls"]):
                out.append(f"message {msg['id']}: tool output must be a string")
    emb = files.get("embeddings.json")
    for e in (emb or {}).get("embeddings", []):
        m = next((m for m in store["memories"] if m["id"] == e["memory_id"]), None)
        if m is None or m["embedding_ref"] != e["id"] or e["dimensions"] != len(e["vector"]):
            out.append(f"embedding {e['id']}")
    return out


def _zip_files(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return {n: json.loads(zf.read(n)) for n in zf.namelist()}


def test_our_export_as_pam_has_the_shape_pam_demands(tmp_path):
    assert pam.write(iter(our_export()), tmp_path / "dana.pam.zip") == 10
    files = _zip_files(tmp_path / "dana.pam.zip")
    assert sorted(files) == ["conversations/ep-deploy.json", "embeddings.json", "memory-store.json"]
    store = files["memory-store.json"]
    assert pam_problems(store, files) == []
    by_id = {m["id"]: m for m in store["memories"]}
    assert sorted(by_id) == ["fact-likes", "fact-new", "fact-old", "m-note", "m-persona", "skill-restart-service",
                             "summary-ep-deploy"]  # the conversation's turns are in its conversation file
    assert {i: (m["type"], m["status"]) for i, m in by_id.items()} == {
        "fact-likes": ("preference", "active"), "fact-new": ("environment", "active"),
        "fact-old": ("environment", "superseded"), "m-note": ("context", "active"),
        "m-persona": ("identity", "active"), "skill-restart-service": ("skill", "active"),
        "summary-ep-deploy": ("context", "active")}
    assert by_id["fact-old"]["temporal"]["superseded_by"] == "fact-new"
    assert by_id["fact-new"]["confidence"] == {"initial": 0.9, "current": 0.9, "decay_model": None,
                                               "last_reinforced": None}
    assert by_id["summary-ep-deploy"]["provenance"]["conversation_ref"] == "ep-deploy"
    assert by_id["m-note"]["embedding_ref"] == "emb-m-note"
    assert [(r["from"], r["type"], r["to"]) for r in store["relations"]] == [("fact-new", "supersedes", "fact-old")]
    turns = files["conversations/ep-deploy.json"]["messages"]
    assert [(m["id"], m["role"], m["parent_id"]) for m in turns] == [
        ("m-user-1", "user", None), ("m-tool-1", "tool", "m-user-1"), ("m-agent-1", "assistant", "m-tool-1")]
    assert turns[1]["tool_calls"] == [{"id": "m-tool-1", "name": "bash",
                                       "input": {"command": "rsync -a blog/ new:/srv/blog"},
                                       "output": '{"exit": 0, "stdout": "sent 4.2M"}'}]
    assert files["embeddings.json"]["embeddings"][0]["vector"] == pytest.approx([0.1, -0.2, 0.3, 0.4])


@pytest.mark.parametrize("target", ["dana.pam.zip", "dana-pam", "store/memory-store.json"])
def test_our_pam_export_reads_back_as_exactly_what_was_written(tmp_path, target):
    written = our_export()
    pam.write(iter(written), tmp_path / target)
    back = checked(pam.read(tmp_path / target))
    key = lambda o: json.dumps(o, sort_keys=True)  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, written))


def test_a_foreign_reader_sees_our_pam_export_as_plain_pam(tmp_path):
    """Without our `memos` metadata the same file still reads, as any PAM file does."""
    pam.write(iter(our_export()), tmp_path / "out")
    store = json.loads((tmp_path / "out" / "memory-store.json").read_text())
    store["exported_by"] = "gines/0.5.0"
    for m in store["memories"]:
        m["metadata"] = {}
    store["integrity"]["checksum"] = sha256_of(sorted(store["memories"], key=lambda m: m["id"]))
    (tmp_path / "out" / "memory-store.json").write_text(json.dumps(store))
    objects = checked(pam.read(tmp_path / "out"))
    mems = memories(objects)
    assert mems["fact-new"]["kind"] == "note" and mems["fact-new"]["content"] == "Dana lives in Lisbon."
    assert mems["m-persona"]["kind"] == "persona"
    assert ("fact-new", "supersedes", "fact-old") in links(objects)
    assert mems["ep-deploy-m-user-1"]["episode"] == "ep-deploy"
