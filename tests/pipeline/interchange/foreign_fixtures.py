"""What the format tests share: the fixture files, objects checked against the v1 model and its
JSON Schema, and one cube's export as our own exporter makes it (every tier, links, history)."""

from __future__ import annotations

import gzip
import json
import zipfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from pipeline.interchange import export_objects as export
from pipeline.interchange.model import to_ms, validate_line
from pipeline.records import MemoryRecord

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "interchange"


@cache
def _schema() -> Draft202012Validator:
    return Draft202012Validator(json.loads((ROOT / "docs" / "interchange" / "v1.schema.json").read_text()))


def checked(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects, each valid for the model (validate_line) and the published JSON Schema; the
    order rules held: an episode before its traces, a memory before what refers to it."""
    out = list(objects)
    seen_memories: set[str] = set()
    seen_episodes: set[str] = set()
    for n, obj in enumerate(out, 1):
        validate_line(obj, n)
        errors = sorted(_schema().iter_errors(obj), key=str)
        assert not errors, f"object {n} breaks the JSON Schema: {errors[0].message}"
        if obj["object"] == "episode":
            seen_episodes.add(obj["id"])
        elif obj["object"] == "memory":
            assert obj.get("episode") is None or obj["episode"] in seen_episodes, f"object {n}: episode not yet seen"
            seen_memories.add(obj["id"])
        elif obj["object"] == "vector" and obj.get("memory_id"):
            assert obj["memory_id"] in seen_memories, f"object {n}: a vector before its memory"
    ids = [o["id"] for o in out if o["object"] in ("memory", "episode")]
    assert len(ids) == len(set(ids)), "an id appears twice"
    for n, obj in enumerate(out, 1):
        if obj["object"] == "link":
            assert obj["from"] in seen_memories | seen_episodes and obj["to"] in seen_memories | seen_episodes, \
                f"object {n}: a link to something the read did not yield"
    return out


def memories(objects: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in objects if o["object"] == "memory"}


def of(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["object"] == kind]


def links(objects: Iterable[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(o["from"], o["type"], o["to"]) for o in objects if o["object"] == "link"}


def openmemory_zip(target: Path) -> Path:
    """The OpenMemory backup ZIP as `POST /api/v1/backup/export` writes it, from the text fixtures."""
    src = DATA / "mem0" / "openmemory_backup"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("memories.json", (src / "memories.json").read_bytes())
        zf.writestr("memories.jsonl.gz", gzip.compress((src / "memories.jsonl").read_bytes(), mtime=0))
    return target


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(folder).as_posix())
    return target


# --- one cube as our exporter writes it ---------------------------------------------------------

CUBE = "agent-dana"
T0 = to_ms("2026-03-01T09:00:00Z")


def _rec(id: str, tier: str, kind: str, content: str, at: int, **kw: Any) -> MemoryRecord:
    return MemoryRecord(id=id, cube=CUBE, agent="dana", tier=tier, kind=kind, content=content,
                        tags=kw.pop("tags", []), metadata=kw.pop("metadata", {}), created_at=at,
                        updated_at=kw.pop("updated_at", at), **kw)


def _fact(subject: str, predicate: str, obj: str, confidence: float, at: int, source: str,
          valid_to: int | None = None) -> dict[str, Any]:
    return {"subject": subject, "relation": None, "predicate": predicate, "object": obj, "polarity": True,
            "confidence": confidence, "valid_from": at, "valid_to": valid_to, "source_ids": [source],
            "single_valued": predicate in ("lives_in", "works_at"), "rule": "explicit", "evidence": ""}


SKILL = {"id": "skill-restart-service", "version": 2, "name": "restart_service", "tool_name": "restart_service",
         "description": "Restart a systemd service and check it came back.",
         "when_to_use": "A service is down or needs a config reload.",
         "steps": [{"tool": "bash", "arguments": {"command": "systemctl restart {service}"}, "templated": ["service"],
                    "optional": []},
                   {"tool": "bash", "arguments": {"command": "systemctl is-active {service}"},
                    "templated": ["service"], "optional": []}],
         "parameters": {"type": "object", "properties": {"service": {"type": "string"}}, "required": ["service"]},
         "success_rate": 0.75, "runs": 4, "successes": 3, "examples": ["Restart nginx"], "failures": ["unit not found"],
         "signature": ["bash", "bash"], "bindings": [], "task_pattern": None, "example_tasks": ["Restart nginx"],
         "task_centroid": None, "centroid_count": 0}


def our_export() -> list[dict[str, Any]]:
    """A cube with every tier, an episode with messages and a tool call, a persona, a note, a
    summary, a fact superseded by another, a skill with an older version, feedback, links, a
    vector, and non-ASCII text: the objects our exporter yields for it, in its order."""
    ep = {"id": "ep-deploy", "task": "Move Dana's blog to the new host", "agent": "dana", "outcome": "success",
          "opened_at": T0, "closed_at": T0 + 60_000}
    recs = [
        _rec("m-user-1", "trace", "message", "I moved to Lisbon last month — adoro a cidade.", T0,
             metadata={"role": "user"}, episode="ep-deploy", tags=["move"]),
        _rec("m-tool-1", "trace", "tool_call", "bash(command=rsync -a blog/ new:/srv/blog)", T0 + 10_000,
             metadata={"role": "assistant"}, episode="ep-deploy",
             tool={"name": "bash", "arguments": {"command": "rsync -a blog/ new:/srv/blog"},
                   "result": {"exit": 0, "stdout": "sent 4.2M"}, "status": "ok", "duration_ms": 2300}),
        _rec("m-agent-1", "trace", "message", "The blog now runs on the new host.", T0 + 20_000,
             metadata={"role": "assistant"}, episode="ep-deploy"),
        _rec("m-persona", "trace", "persona", "I'm Dana, a data engineer who likes terse answers.", T0 - 86_400_000,
             metadata={"speaker": "user"}),
        _rec("m-note", "trace", "note", "The new host is called kestrel.", T0 + 30_000, tags=["infra", "hosts"]),
        _rec("summary-ep-deploy", "trace", "summary", "Goal: move the blog. Result: success.", T0 + 60_000,
             episode="ep-deploy", source_ids=["m-user-1", "m-tool-1", "m-agent-1"]),
        _rec("fact-old", "world", "fact", "Dana lives in Berlin.", T0 - 90 * 86_400_000, status="superseded",
             metadata=_fact("Dana", "lives_in", "Berlin", 0.6, T0 - 90 * 86_400_000, "m-persona", T0),
             valid_from=T0 - 90 * 86_400_000, valid_to=T0, source_ids=["m-persona"]),
        _rec("fact-new", "world", "fact", "Dana lives in Lisbon.", T0, metadata=_fact("Dana", "lives_in", "Lisbon",
             0.9, T0, "m-user-1"), valid_from=T0, source_ids=["m-user-1"], feedback=1),
        _rec("fact-likes", "world", "fact", "Dana likes terse answers.", T0 - 86_400_000,
             metadata=_fact("Dana", "likes", "terse answers", 0.75, T0 - 86_400_000, "m-persona"),
             valid_from=T0 - 86_400_000, source_ids=["m-persona"]),
        _rec("skill-restart-service", "skill", "skill", "restart_service: Restart a systemd service.", T0 + 50_000,
             metadata=SKILL, version=2, source_ids=["ep-deploy"]),
    ]
    out: list[dict[str, Any]] = [export.episode_object(ep, CUBE)]
    for rec in recs:
        out.append(export.memory_object(rec, superseded_by="fact-new" if rec.id == "fact-old" else None))
        if rec.id == "m-note":
            out.append(export.vector_object([0.1, -0.2, 0.3, 0.4], "all-MiniLM-L6-v2", memory_id="m-note"))
            out.append(export.version_object("m-note", "trace", {
                "version": 1, "kind": "note", "content": "The new host is called falcon.", "tags": ["infra"],
                "metadata": {}, "updated_at": T0 + 25_000}))
        if rec.id == "fact-new":
            out.append(export.feedback_object("fact-new", {"signal": "useful", "note": None, "agent": "dana",
                                                          "at": T0 + 40_000}))
        if rec.id == "skill-restart-service":
            out.append(export.version_object("skill-restart-service", "skill", {
                "version": 1, "kind": "skill", "content": "restart_service: Restart a service.", "tags": [],
                "metadata": {**SKILL, "version": 1, "runs": 2, "successes": 1, "success_rate": 0.5},
                "updated_at": T0 + 45_000}))
    out += [export.link_object({"src": "fact-new", "dst": "fact-old", "type": "supersedes", "created_at": T0,
                                "metadata": {}}),
            export.link_object({"src": "fact-new", "dst": "m-user-1", "type": "derived_from", "created_at": T0,
                                "metadata": {}}),
            export.link_object({"src": "m-note", "dst": "m-agent-1", "type": "mentions", "created_at": T0 + 30_000,
                                "metadata": {"by": "dana"}})]
    return checked(out)
