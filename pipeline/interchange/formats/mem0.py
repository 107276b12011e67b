"""mem0: the JSON its `get_all` returns (`{"results": [...]}` from the open-source `Memory`, or the
platform's list), and the OpenMemory backup ZIP (`memories.json` with `memories.jsonl.gz`, from
`POST /api/v1/backup/export`), or that backup unpacked in a directory.

Reading: each memory becomes a note trace; its categories become tags, mem0's own fields (hash,
user, agent, run, app, state, status history) ride in `metadata.mem0`. OpenMemory's deleted
memories are not imported; archived ones keep the tag `archived`. Graph relations
(`{source, relationship, target}`) become notes of their own.

Writing: the memories a mem0 store holds (world facts, notes, personas, summaries and skills
that are active; not the turns of conversations) as `get_all` JSON, or with a `.zip` path as an
OpenMemory backup (ids as UUIDs derived from ours, since OpenMemory's import parses them). Each
item keeps our whole object in `metadata.memos`, so reading it back restores it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.source_files import SourceTree, head, invalid, is_zip
from pipeline.interchange.model import iso
from pipeline.timefmt import now_ms

NAME = "mem0"
PLATFORM = "mem0"
BACKUP = "memories.json"
LOGICAL = "memories.jsonl.gz"
_MEMORY_KEY = re.compile(r'"memory"\s*:\s*"')
_RESULTS = re.compile(r'"results"\s*:\s*\[')
_BACKUP = re.compile(r'"(export_meta|memory_categories|status_history|apps)"\s*:')
_MEM0_HINT = re.compile(r'"(hash|user_id|agent_id|run_id|categories)"\s*:')
_NOT_EXPORTED = {"message", "tool_call", "image"}


def _is_backup_text(text: str) -> bool:
    return text.lstrip().startswith("{") and '"memories"' in text and bool(_BACKUP.search(text))


def detect(path: Path) -> bool:
    if path.is_file() and not is_zip(path):
        text = head(path)
        if _is_backup_text(text):
            return True
        stripped = text.lstrip()
        listing = stripped.startswith("[") or bool(_RESULTS.search(text))
        return listing and bool(_MEMORY_KEY.search(text)) and bool(_MEM0_HINT.search(text)) \
            and '"mapping"' not in text and '"chat_messages"' not in text
    if path.is_dir() or is_zip(path):
        with SourceTree(path) as tree:
            name = tree.find(BACKUP)
            if name is not None:
                with tree.open(name) as f:
                    return _is_backup_text(f.read(1 << 16).decode("utf-8", errors="replace"))
            return tree.find(LOGICAL) is not None
    return False


# --- reading ------------------------------------------------------------------------------------


def _load(raw: bytes, where: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(where, f"not valid JSON ({exc})") from exc


def _ours(metadata: Any) -> dict[str, Any] | None:
    ext = metadata.get("memos") if isinstance(metadata, dict) else None
    return ext if isinstance(ext, dict) and isinstance(ext.get("record"), dict) else None


def _restore(ext: dict[str, Any], content: str, links: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One of ours, as it was exported; mem0 holds no episodes, so it names none."""
    yield {**{k: v for k, v in ext["record"].items() if k != "episode"}, "content": content}
    for key in ("vectors", "versions", "feedback"):
        yield from ext.get(key) or []
    links.extend(ext.get("links") or [])


def _memory_id(raw: Any) -> str:
    return str(raw) if lo.is_id(raw) else lo.source_id("mem0", raw)


def _item(item: dict[str, Any], where: str, now: str, links: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    text = item.get("memory")
    if not isinstance(text, str) or not text.strip() or not item.get("id"):
        raise invalid(where, "a memory needs an id and its text in `memory`")
    ext = _ours(item.get("metadata"))
    if ext is not None:
        yield from _restore(ext, text, links)
        return
    extra = {k: item[k] for k in ("hash", "user_id", "agent_id", "run_id", "actor_id", "role", "app_id",
                                  "immutable", "expiration_date", "metadata", "score") if item.get(k) is not None}
    created = lo.time_iso(item.get("created_at"), now)
    yield lo.trace(_memory_id(item["id"]), "note", text, created, PLATFORM, metadata={"mem0": extra},
                   tags=item.get("categories") or [], updated_at=lo.time_iso(item.get("updated_at")),
                   platform_user_id=str(item["user_id"]) if item.get("user_id") else None,
                   extraction_method="llm_inference")


def _relation(rel: dict[str, Any], now: str) -> dict[str, Any] | None:
    parts = [str(rel.get(k) or "").strip() for k in ("source", "relationship", "target")]
    if not all(parts):
        return None
    text = f"{parts[0]} {parts[1].replace('_', ' ')} {parts[2]}"
    return lo.trace(lo.content_id("mem0-relation", *parts), "note", text, now, PLATFORM,
                    metadata={"mem0": {"relation": dict(zip(("source", "relationship", "target"), parts))}},
                    tags=["mem0-graph"], extraction_method="llm_inference")


def _read_listing(doc: Any, where: str) -> Iterator[dict[str, Any]]:
    items = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise invalid(where, "expected a list of memories, or an object with `results`")
    now = iso(now_ms())
    links: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"{where}: results[{i}]", "expected an object")
        yield from _item(item, f"{where}: results[{i}]", now, links)
    for rel in (doc.get("relations") if isinstance(doc, dict) else None) or []:
        record = _relation(rel, now) if isinstance(rel, dict) else None
        if record is not None:
            yield record
    yield from links


def _backup_memory(m: dict[str, Any], where: str, categories: dict[str, str], apps: dict[str, str],
                   history: dict[str, list[dict[str, Any]]], user: dict[str, Any], now: str,
                   links: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    content = m.get("content")
    if not isinstance(content, str) or not content.strip() or not m.get("id"):
        raise invalid(where, "a memory needs an id and its content")
    state = m.get("state") or "active"
    if state == "deleted":
        return
    ext = _ours(m.get("metadata"))
    if ext is not None:
        yield from _restore(ext, content, links)
        return
    names = [categories.get(str(c), str(c)) for c in m.get("category_ids") or []] or list(m.get("categories") or [])
    extra: dict[str, Any] = {"state": state}
    for key in ("archived_at", "metadata"):
        if m.get(key):
            extra[key] = m[key]
    app = apps.get(str(m.get("app_id"))) or m.get("app")
    if app:
        extra["app"] = app
    if user.get("user_id"):
        extra["user_id"] = user["user_id"]
    if history.get(str(m["id"])):
        extra["status_history"] = history[str(m["id"])]
    yield lo.trace(_memory_id(m["id"]), "note", content, lo.time_iso(m.get("created_at"), now), PLATFORM,
                   metadata={"mem0": extra}, tags=names + (["archived"] if state == "archived" else []),
                   updated_at=lo.time_iso(m.get("updated_at")), extraction_method="llm_inference",
                   platform_user_id=str(user["user_id"]) if user.get("user_id") else None)


def _read_backup(payload: Any, tree: SourceTree | None, where: str) -> Iterator[dict[str, Any]]:
    """An OpenMemory backup: its database payload, or failing that the provider-neutral lines."""
    now = iso(now_ms())
    links: list[dict[str, Any]] = []
    if not isinstance(payload, dict):
        raise invalid(BACKUP, "expected an object")
    memories = payload.get("memories")
    logical = tree.find(LOGICAL) if tree is not None else None
    if isinstance(memories, list) and (memories or logical is None):
        categories = {str(c.get("id")): str(c.get("name")) for c in payload.get("categories") or [] if isinstance(c, dict)}
        apps = {str(a.get("id")): str(a.get("name")) for a in payload.get("apps") or [] if isinstance(a, dict)}
        history: dict[str, list[dict[str, Any]]] = {}
        for h in payload.get("status_history") or []:
            if isinstance(h, dict):
                history.setdefault(str(h.get("memory_id")), []).append(
                    {k: h[k] for k in ("old_state", "new_state", "changed_at") if k in h})
        user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
        for i, m in enumerate(memories):
            if not isinstance(m, dict):
                raise invalid(f"{BACKUP}: memories[{i}]", "expected an object")
            yield from _backup_memory(m, f"{BACKUP}: memories[{i}]", categories, apps, history, user, now, links)
    elif tree is not None and logical is not None:
        with tree.open(logical) as raw, gzip.open(raw) as lines:
            for n, line in enumerate(lines, 1):
                if line.strip():
                    m = _load(line, f"{LOGICAL} line {n}")
                    yield from _backup_memory(m, f"{LOGICAL} line {n}", {}, {}, {}, {}, now, links)
    else:
        raise invalid(where, f"neither {BACKUP} memories nor {LOGICAL} in it")
    yield from links


def read(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_file() and not is_zip(path):
        doc = _load(path.read_bytes(), path.name)
        if isinstance(doc, dict) and "memories" in doc and "results" not in doc:
            yield from _read_backup(doc, None, path.name)
        else:
            yield from _read_listing(doc, path.name)
        return
    with SourceTree(path) as tree:
        name = tree.find(BACKUP)
        payload = _load(tree.read_bytes(name), name) if name else {}
        yield from _read_backup(payload, tree, path.name)


# --- writing ------------------------------------------------------------------------------------


def _exported(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for r in records:
        if r.get("status", "active") == "active" and not (r["tier"] == "trace" and r.get("kind") in _NOT_EXPORTED):
            yield r


class _Gather:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.ext: dict[str, dict[str, Any]] = {}

    def add(self, obj: dict[str, Any]) -> None:
        kind = obj.get("object")
        if kind == "memory":
            self.records[obj["id"]] = obj
            self.ext[obj["id"]] = {"record": {k: v for k, v in obj.items() if k != "content"}}
        elif kind in ("vector", "version", "skill_version", "feedback") and obj.get("memory_id") in self.ext:
            key = {"vector": "vectors", "feedback": "feedback"}.get(kind, "versions")
            self.ext[obj["memory_id"]].setdefault(key, []).append(obj)
        elif kind == "link" and obj.get("from") in self.ext:
            self.ext[obj["from"]].setdefault("links", []).append(obj)


def _metadata(record: dict[str, Any], ext: dict[str, Any]) -> dict[str, Any]:
    return {"tier": record["tier"], "kind": record.get("kind"), "tags": list(record.get("tags") or []), "memos": ext}


def _get_all_item(record: dict[str, Any], ext: dict[str, Any]) -> dict[str, Any]:
    item = {"id": record["id"], "memory": record["content"],
            "hash": hashlib.md5(record["content"].encode()).hexdigest(),  # mem0's own hash of a memory
            "metadata": _metadata(record, ext), "created_at": record["temporal"]["created_at"],
            "updated_at": record["temporal"].get("updated_at"), "user_id": record.get("cube") or "memos"}
    if record.get("agent"):
        item["agent_id"] = record["agent"]
    return item


def _uuid(value: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"memos:{value}"))


def _backup_zip(records: list[dict[str, Any]], g: _Gather, path: Path) -> None:
    owner = next((r.get("cube") for r in records if r.get("cube")), None) or "memos"
    stamp = datetime.now(UTC).isoformat()
    user = {"id": _uuid(f"user:{owner}"), "user_id": owner, "name": None, "email": None, "metadata": {},
            "created_at": stamp, "updated_at": stamp}
    app = {"id": _uuid(f"app:{owner}"), "owner_id": user["id"], "name": "memos", "description": None,
           "metadata": {}, "is_active": True, "created_at": stamp, "updated_at": stamp}
    names = sorted({t for r in records for t in r.get("tags") or []})
    categories = [{"id": _uuid(f"category:{n}"), "name": n, "description": None, "created_at": stamp,
                   "updated_at": stamp} for n in names]
    by_name = {c["name"]: c["id"] for c in categories}
    memories, links, lines = [], [], io.BytesIO()
    with gzip.GzipFile(fileobj=lines, mode="wb", mtime=0) as gz:
        for r in records:
            ext = g.ext[r["id"]]
            mid = _uuid(r["id"])
            cats = [by_name[t] for t in r.get("tags") or []]
            memories.append({"id": mid, "user_id": user["id"], "app_id": app["id"], "content": r["content"],
                             "metadata": _metadata(r, ext), "state": "active",
                             "created_at": r["temporal"]["created_at"],
                             "updated_at": r["temporal"].get("updated_at") or r["temporal"]["created_at"],
                             "archived_at": None, "deleted_at": None, "category_ids": cats})
            links.extend({"memory_id": mid, "category_id": c} for c in cats)
            gz.write(orjson.dumps({"id": mid, "content": r["content"], "metadata": _metadata(r, ext),
                                   "created_at": r["temporal"]["created_at"],
                                   "updated_at": r["temporal"].get("updated_at"), "state": "active", "app": "memos",
                                   "categories": list(r.get("tags") or [])}) + b"\n")
    payload = {"user": user, "apps": [app], "categories": categories, "memories": memories,
               "memory_categories": links, "status_history": [], "access_controls": [],
               "export_meta": {"app_id_filter": None, "from_date": None, "to_date": None, "version": "1",
                               "generated_at": stamp}}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(BACKUP, orjson.dumps(payload, option=orjson.OPT_INDENT_2))
        zf.writestr(LOGICAL, lines.getvalue())


def write(objects: Iterable[dict[str, Any]], path: Path) -> int:
    """Our export in mem0's shape at `path`: `get_all` JSON, or an OpenMemory backup for a `.zip`.
    Returns the memories written."""
    g = _Gather()
    for obj in objects:
        g.add(obj)
    records = list(_exported(g.records.values()))
    kept = {r["id"] for r in records}
    for r in records:  # a link rides along only when mem0 holds both of its ends
        ext = g.ext[r["id"]]
        if "links" in ext:
            ext["links"] = [link for link in ext["links"] if link["to"] in kept]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.casefold() == ".zip":
        _backup_zip(records, g, path)
    else:
        doc = {"results": [_get_all_item(r, g.ext[r["id"]]) for r in records]}
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    return len(records)
