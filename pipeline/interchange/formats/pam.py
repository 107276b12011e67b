"""Portable AI Memory (PAM) v1.0: `memory-store.json` with its companions `conversations/*.json` and
`embeddings.json`, as a directory, a ZIP, or the store file alone.

Reading: each PAM memory becomes a trace (identity and instruction as a persona, the rest as a
note) that keeps PAM's type, confidence, status and access in `metadata.pam`; each conversation
an episode of message traces; relations become links, inline embeddings vectors. Retracted
memories are not imported (PAM says they are invalid). The integrity block is checked.

Writing: our memories (all but the turns of conversations) become PAM memories, each episode's
turns a conversation file, vectors `embeddings.json`. Every object we wrote also rides whole in
`metadata.memos` (PAM allows extra metadata), so reading our own PAM export back is lossless.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from importlib import metadata as package_metadata
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.canonical_json import sha256_of
from pipeline.interchange.formats.source_files import SourceTree, head, invalid, is_zip
from pipeline.interchange.model import iso, pam_type
from pipeline.timefmt import now_ms

NAME = "pam"
STORE = "memory-store.json"
_SNIFF = re.compile(r'"schema"\s*:\s*"portable-ai-memory"')
_PERSONA_TYPES = {"identity", "instruction"}
_RELATION_TYPES = {"supports", "contradicts", "extends", "supersedes", "related_to", "derived_from"}
_PAM_TAG = re.compile(r"[^a-z0-9_-]+")
_EXTRACTOR = re.compile(r"^[a-zA-Z0-9_-]+/[0-9]+\.[0-9]+\.[0-9]+$")
_ROLES = {"user", "assistant", "system", "tool"}
_CONVERSATION_KINDS = {"message", "tool_call", "image"}


# --- detection ----------------------------------------------------------------------------------


def detect(path: Path) -> bool:
    if path.is_file() and not is_zip(path):
        return bool(_SNIFF.search(head(path)))
    if path.is_dir() or is_zip(path):
        with SourceTree(path) as tree:
            name = tree.find(STORE)
            if name is None:
                return False
            with tree.open(name) as f:
                return bool(_SNIFF.search(f.read(1 << 16).decode("utf-8", errors="replace")))
    return False


# --- reading ------------------------------------------------------------------------------------


class _Source:
    """The store file and a way to open its companions, wherever they live."""

    def __init__(self, path: Path) -> None:
        self.tree: SourceTree | None = None
        if path.is_file() and not is_zip(path):
            self.base = path.parent
            self.store_bytes = path.read_bytes()
            self.store_dir = PurePosixPath("")
        else:
            self.tree = SourceTree(path)
            name = self.tree.find(STORE)
            if name is None:
                raise invalid(path.name, f"no {STORE} in it")
            self.store_bytes = self.tree.read_bytes(name)
            self.store_dir = PurePosixPath(name).parent

    def companion(self, ref: str) -> bytes | None:
        rel = PurePosixPath(ref.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            return None
        if self.tree is not None:
            name = (self.store_dir / rel).as_posix()
            return self.tree.read_bytes(name) if name in self.tree.names() else None
        target = self.base / rel
        return target.read_bytes() if target.is_file() else None

    def close(self) -> None:
        if self.tree is not None:
            self.tree.close()


def _load(raw: bytes, where: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(where, f"not valid JSON ({exc})") from exc


def _check_store(store: Any) -> list[dict[str, Any]]:
    if not isinstance(store, dict) or store.get("schema") != "portable-ai-memory":
        raise invalid(STORE, 'schema: expected "portable-ai-memory"')
    version = str(store.get("schema_version", ""))
    if not re.match(r"^1\.[0-9]+", version):
        raise invalid(STORE, f"schema_version: PAM {version[:20]!r} is not 1.x, the version this server reads")
    memories = store.get("memories")
    if not isinstance(memories, list) or not all(isinstance(m, dict) for m in memories):
        raise invalid(STORE, "memories: expected a list of objects")
    integrity = store.get("integrity")
    if isinstance(integrity, dict):
        if integrity.get("total_memories") not in (None, len(memories)):
            raise invalid(STORE, f"integrity.total_memories is {integrity.get('total_memories')} but the file "
                                 f"holds {len(memories)} memories (is it cut short?)")
        checksum = integrity.get("checksum")
        if checksum and sha256_of(sorted(memories, key=lambda m: str(m.get("id")))) != checksum:
            raise invalid(STORE, "integrity.checksum does not match the memories: the file was changed or damaged "
                                 "after it was exported")
    return memories


def read(path: Path) -> Iterator[dict[str, Any]]:
    source = _Source(path)
    try:
        store = _load(source.store_bytes, STORE)
        memories = _check_store(store)
        ours = str(store.get("exported_by") or "").startswith("memos/")
        yield from (_read_ours if ours else _read_foreign)(store, memories, source)
    finally:
        source.close()


def _embeddings(source: _Source) -> dict[str, dict[str, Any]]:
    raw = source.companion("embeddings.json")
    if raw is None:
        return {}
    doc = _load(raw, "embeddings.json")
    out: dict[str, dict[str, Any]] = {}
    for e in (doc.get("embeddings") if isinstance(doc, dict) else None) or []:
        if isinstance(e, dict) and isinstance(e.get("vector"), list) and e["vector"] and isinstance(e.get("model"), str):
            out[str(e.get("memory_id"))] = e
    return out


def _conversations(store: dict[str, Any], source: _Source) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for entry in store.get("conversations_index") or []:
        storage = entry.get("storage") if isinstance(entry, dict) else None
        if not isinstance(storage, dict) or storage.get("type") != "file" or not storage.get("ref"):
            continue
        raw = source.companion(str(storage["ref"]))
        if raw is None:
            continue  # an optional companion the export left out
        conversation = _load(raw, str(storage["ref"]))
        if isinstance(conversation, dict):
            yield entry, conversation


def _time(value: Any, where: str, field: str, fallback: str | None = None) -> str | None:
    out = lo.time_iso(value, None)
    if out is None and value not in (None, ""):
        raise invalid(where, f"{field}: {str(value)[:40]!r} is not an ISO 8601 time")
    return out or fallback


def _message_text(content: Any) -> tuple[str, list[dict[str, Any]]]:
    """A PAM message's text, and the non-text parts it carried (kept as metadata)."""
    if not isinstance(content, dict):
        return "", []
    if content.get("type") == "text":
        return str(content.get("text") or ""), []
    texts, others = [], []
    for part in content.get("parts") or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("text", "code") and part.get("text"):
            texts.append(str(part["text"]))
        else:
            others.append({k: v for k, v in part.items() if v is not None})
    return "\n".join(texts), others


def _read_foreign_conversation(entry: dict[str, Any], conv: dict[str, Any],
                               message_ids: dict[str, str]) -> Iterator[dict[str, Any]]:
    conv_id = str(conv.get("id") or entry.get("id"))
    where = f"conversation {conv_id}"
    episode_id = conv_id if lo.is_id(conv_id) else lo.source_id("pam", conv_id)
    temporal = conv.get("temporal") or entry.get("temporal") or {}
    opened = _time(temporal.get("created_at"), where, "temporal.created_at", iso(0))
    closed = _time(temporal.get("updated_at"), where, "temporal.updated_at", opened)
    platform = str((conv.get("provider") or {}).get("name") or entry.get("platform") or "pam")
    yield lo.episode(episode_id, opened, task=str(conv.get("title") or entry.get("title") or ""), closed_at=closed)
    message_ids[conv_id] = episode_id
    for i, msg in enumerate(conv.get("messages") or []):
        if not isinstance(msg, dict) or msg.get("is_thought"):
            continue
        mid = lo.source_id(episode_id, msg.get("id") or i)
        message_ids[f"{conv_id}\x1f{msg.get('id')}"] = mid
        created = _time(msg.get("created_at"), f"{where} message {msg.get('id')}", "created_at", opened)
        text, parts = _message_text(msg.get("content"))
        role = str(msg.get("role") or "user")
        meta: dict[str, Any] = {"role": role}
        if msg.get("model"):
            meta["model"] = msg["model"]
        if parts:
            meta["parts"] = parts
        if msg.get("attachments"):
            meta["attachments"] = msg["attachments"]
        if msg.get("citations"):
            meta["citations"] = msg["citations"]
        if text.strip():
            yield lo.trace(mid, "message", text, created, platform, metadata=meta, episode_id=episode_id,
                           conversation_ref=conv_id, message_ref=str(msg.get("id")))
        for j, call in enumerate(msg.get("tool_calls") or []):
            if not isinstance(call, dict) or not call.get("name"):
                continue
            tool = lo.tool_call(str(call["name"]), call.get("input"), call.get("output"))
            yield lo.trace(lo.source_id(mid, "tool", call.get("id") or j), "tool_call", lo.render_tool(tool), created,
                           platform, metadata={"role": "assistant"}, episode_id=episode_id, tool=tool,
                           conversation_ref=conv_id, message_ref=str(msg.get("id")))


def _foreign_memory(m: dict[str, Any], memory_id: str) -> dict[str, Any]:
    where = f"memory {str(m.get('id'))[:60]}"
    content = m.get("content")
    if not isinstance(content, str) or not content.strip():
        raise invalid(where, "content: missing or empty")
    temporal = m.get("temporal") if isinstance(m.get("temporal"), dict) else {}
    created = _time(temporal.get("created_at"), where, "temporal.created_at")
    if created is None:
        raise invalid(where, "temporal.created_at: missing")
    provenance = m.get("provenance") if isinstance(m.get("provenance"), dict) else {}
    platform = str(provenance.get("platform") or "pam")
    if not re.fullmatch(r"[a-z0-9_-]{2,32}", platform):
        platform = "pam"
    pam = {k: m[k] for k in ("type", "custom_type", "status", "summary", "confidence", "access", "metadata",
                             "embedding_ref", "content_hash") if m.get(k) not in (None, [], {})}
    if m.get("id") != memory_id:
        pam["id"] = m.get("id")
    method = provenance.get("extraction_method")
    record = lo.trace(
        memory_id, "persona" if m.get("type") in _PERSONA_TYPES else "note", content, created, platform,
        metadata={"pam": pam}, tags=m.get("tags") or [],
        updated_at=_time(temporal.get("updated_at"), where, "temporal.updated_at"),
        valid_from=_time(temporal.get("valid_from"), where, "temporal.valid_from"),
        valid_until=_time(temporal.get("valid_until"), where, "temporal.valid_until"),
        status="superseded" if m.get("status") == "superseded" else "active",
        conversation_ref=provenance.get("conversation_ref"), message_ref=provenance.get("message_ref"),
        extraction_method=method if method in ("llm_inference", "explicit_user_input", "api_export",
                                               "browser_extraction", "manual") else None,
        platform_user_id=provenance.get("platform_user_id"))
    for key in ("extracted_at", "extractor"):
        value = _time(provenance.get(key), where, f"provenance.{key}") if key == "extracted_at" else provenance.get(key)
        if value:
            record["provenance"][key] = str(value)
    return record


def _read_foreign(store: dict[str, Any], memories: list[dict[str, Any]], source: _Source) -> Iterator[dict[str, Any]]:
    message_ids: dict[str, str] = {}
    for entry, conv in _conversations(store, source):
        yield from _read_foreign_conversation(entry, conv, message_ids)
    embeddings = _embeddings(source)
    ids: dict[str, str] = {}
    derived: list[dict[str, Any]] = []
    for m in memories:
        if m.get("status") == "retracted":
            continue
        pam_id = str(m.get("id"))
        memory_id = pam_id if lo.is_id(pam_id) else lo.source_id("pam", pam_id)
        ids[pam_id] = memory_id
        record = _foreign_memory(m, memory_id)
        yield record
        emb = embeddings.get(pam_id)
        if emb is not None:
            yield lo.vector(memory_id, str(emb["model"]), emb["vector"])
        prov = m.get("provenance") or {}
        target = message_ids.get(f"{prov.get('conversation_ref')}\x1f{prov.get('message_ref')}") or \
            message_ids.get(str(prov.get("conversation_ref")))
        if target is not None:
            derived.append(lo.link(memory_id, target, "derived_from", record["temporal"]["created_at"]))
    yield from derived
    seen: set[tuple[str, str, str]] = set()
    for rel in store.get("relations") or []:
        if not isinstance(rel, dict):
            continue
        a, b = ids.get(str(rel.get("from"))), ids.get(str(rel.get("to")))
        if a is None or b is None or not rel.get("type"):
            continue  # an end that was retracted, or not in this export
        created = _time(rel.get("created_at"), f"relation {rel.get('id')}", "created_at", iso(0))
        meta = {k: rel[k] for k in ("id", "confidence") if rel.get(k) is not None}
        key = (a, lo.link_type(str(rel["type"])), b)
        seen.add(key)
        yield lo.link(a, b, key[1], created, meta)
    for m in memories:  # a superseded_by with no relation still says which memory replaced this one
        newer = (m.get("temporal") or {}).get("superseded_by")
        a, b = ids.get(str(newer)), ids.get(str(m.get("id")))
        if a and b and (a, "supersedes", b) not in seen:
            yield lo.link(a, b, "supersedes", _time((m.get("temporal") or {}).get("valid_until"), "memory", "valid_until",
                                                    iso(0)))


def _read_ours(store: dict[str, Any], memories: list[dict[str, Any]], source: _Source) -> Iterator[dict[str, Any]]:
    """A PAM file this server wrote: each object rides whole in `metadata.memos` / `raw_metadata.memos`."""
    later: list[dict[str, Any]] = []
    for _, conv in _conversations(store, source):
        ext = (conv.get("raw_metadata") or {}).get("memos") or {}
        if ext.get("episode"):
            yield ext["episode"]
        for msg in conv.get("messages") or []:
            mext = (msg.get("raw_metadata") or {}).get("memos") if isinstance(msg, dict) else None
            if mext:
                text, _ = _message_text(msg.get("content"))
                yield from _unpack(mext, text, later)
    embeddings = _embeddings(source)
    for m in memories:
        ext = (m.get("metadata") or {}).get("memos")
        if not ext:
            yield from _read_foreign({"relations": []}, [m], _Empty())
            continue
        emb = embeddings.get(str(m.get("id")))
        vectors = [lo.vector(m["id"], str(emb["model"]), emb["vector"])] if emb else []
        yield from _unpack({**ext, "vectors": vectors}, m["content"], later)
    yield from later


class _Empty:
    def companion(self, ref: str) -> None:
        return None


def _unpack(ext: dict[str, Any], content: str, later: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield {**ext["record"], "content": content}
    yield from ext.get("vectors", [])
    yield from ext.get("versions", [])
    yield from ext.get("feedback", [])
    later.extend(ext.get("links", []))


# --- writing ------------------------------------------------------------------------------------


def _producer() -> str:
    try:
        version = package_metadata.version("memos-server")
    except package_metadata.PackageNotFoundError:
        version = "0.1.0"
    return f"memos/{version}" if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version) else "memos/0.1.0"


def content_hash(content: str) -> str:
    """PAM §6: sha256 of the trimmed, lower-cased, NFC-normalised, space-collapsed content."""
    text = " ".join(unicodedata.normalize("NFC", content.strip().lower()).split())
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pam_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        t = _PAM_TAG.sub("-", tag.casefold()).strip("-_")
        if t and t[0].isalnum() and t not in out:
            out.append(t)
    return out


def _role(record: dict[str, Any]) -> str:
    meta = record.get("metadata") or {}
    if record.get("kind") == "tool_call":
        return "tool"
    role = str(meta.get("role") or meta.get("speaker") or "user").casefold()
    return role if role in _ROLES else ("assistant" if role in ("agent", "ai", "bot") else "user")


class _Bundle:
    """What the writer gathers before it can write: PAM is one JSON document per file."""

    def __init__(self) -> None:
        self.episodes: dict[str, dict[str, Any]] = {}
        self.ext: dict[str, dict[str, Any]] = {}  # memory id -> the objects that ride with it
        self.store_ids: list[str] = []  # memories that go in memory-store.json, in order
        self.turns: dict[str | None, list[str]] = {}  # episode -> its conversation traces, in order
        self.links: list[dict[str, Any]] = []
        self.owner: str | None = None

    def add(self, obj: dict[str, Any]) -> None:
        kind = obj.get("object")
        if kind == "episode":
            self.episodes[obj["id"]] = obj
        elif kind == "memory":
            self.owner = self.owner or obj.get("cube") or obj.get("agent")
            self.ext[obj["id"]] = {"record": {k: v for k, v in obj.items() if k != "content"}, "content": obj["content"]}
            if obj.get("tier") == "trace" and obj.get("kind") in _CONVERSATION_KINDS:
                self.turns.setdefault(obj.get("episode"), []).append(obj["id"])
            else:
                self.store_ids.append(obj["id"])
        elif kind in ("vector", "version", "skill_version", "feedback"):
            target = self.ext.get(str(obj.get("memory_id")))
            if target is not None:  # an episode's task vector has nowhere to go in PAM: it is re-embedded
                target.setdefault({"vector": "vectors", "feedback": "feedback"}.get(kind, "versions"), []).append(obj)
        elif kind == "link":
            self.links.append(obj)
            target = self.ext.get(str(obj.get("from")))
            if target is not None:
                target.setdefault("links", []).append(obj)


def _memory(record: dict[str, Any], content: str, ext: dict[str, Any], superseded_by: str | None,
            conversation: str | None, embedding_ref: str | None) -> dict[str, Any]:
    meta = record.get("metadata") or {}
    temporal = record.get("temporal") or {}
    provenance = record.get("provenance") or {}
    status = record.get("status", "active")
    out: dict[str, Any] = {
        "id": record["id"],
        "type": record.get("type") or pam_type(record["tier"], record.get("kind", ""), meta),
        "custom_type": None,
        "status": {"superseded": "superseded", "duplicate": "deprecated"}.get(status, "active"),
        "content": content,
        "content_hash": content_hash(content),
        "summary": None,
        "tags": _pam_tags(record.get("tags") or []),
    }
    if record.get("tier") == "world" and isinstance(meta.get("confidence"), (int, float)):
        c = float(meta["confidence"])
        out["confidence"] = {"initial": c, "current": c, "decay_model": None, "last_reinforced": None}
    out["temporal"] = {"created_at": temporal["created_at"], "updated_at": temporal.get("updated_at"),
                       "valid_from": temporal.get("valid_from"), "valid_until": temporal.get("valid_until"),
                       "superseded_by": superseded_by}
    extractor = provenance.get("extractor")
    out["provenance"] = {
        "platform": provenance.get("platform") or "memos", "platform_user_id": provenance.get("platform_user_id"),
        "conversation_ref": conversation, "message_ref": None,
        "extraction_method": provenance.get("extraction_method"), "extracted_at": provenance.get("extracted_at"),
        "extractor": extractor if isinstance(extractor, str) and _EXTRACTOR.match(extractor) else None,
    }
    out["access"] = {"visibility": "private", "exportable": True, "shared_with": []}
    out["embedding_ref"] = embedding_ref
    out["metadata"] = {"memos": {k: v for k, v in ext.items() if k not in ("content", "vectors")}}
    return out


def _message(record: dict[str, Any], content: str, ext: dict[str, Any], parent: str | None,
             child: str | None) -> dict[str, Any]:
    tool = record.get("tool")
    out: dict[str, Any] = {
        "id": record["id"], "provider_message_id": None, "role": _role(record),
        "content": {"type": "text", "text": content},
        "created_at": record["temporal"]["created_at"], "parent_id": parent, "children_ids": [child] if child else [],
        "model": None, "is_thought": False, "token_count": None, "attachments": [], "citations": [],
        "tool_calls": [], "raw_metadata": {"memos": {k: v for k, v in ext.items() if k != "content"}},
    }
    if tool:
        result = tool.get("result")
        out["tool_calls"] = [{"id": record["id"], "name": tool["name"], "input": tool.get("arguments") or {},
                              "output": result if isinstance(result, str) or result is None
                              else json.dumps(result, ensure_ascii=False)}]
    return out


def _conversation(episode_id: str | None, episode: dict[str, Any] | None, messages: list[dict[str, Any]],
                  conv_id: str) -> dict[str, Any]:
    first = messages[0]["created_at"] if messages else iso(0)
    created = (episode or {}).get("opened_at") or first
    updated = (episode or {}).get("closed_at") or (messages[-1]["created_at"] if messages else created)
    return {
        "schema": "portable-ai-memory-conversation", "schema_version": "1.0", "id": conv_id,
        "provider": {"name": "memos", "conversation_id": episode_id, "account_id": None, "export_format_version": None},
        "title": (episode or {}).get("task") or None,
        "temporal": {"created_at": created, "updated_at": updated},
        "participants": [{"role": r, "name": None, "provider_id": None}
                         for r in sorted({m["role"] for m in messages})],
        "messages": messages, "model": None, "system_instruction": None, "is_archived": False, "tags": [],
        "raw_metadata": {"memos": {"episode": episode}},
    }


class _Sink:
    """Where the files of a PAM export go: a ZIP, or a directory."""

    def __init__(self, path: Path) -> None:
        self.zip: zipfile.ZipFile | None = None
        if path.suffix.casefold() == ".zip":
            path.parent.mkdir(parents=True, exist_ok=True)
            self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
            self.root = path
            self.store_name = STORE
        elif path.suffix.casefold() == ".json":
            self.root = path.parent
            self.store_name = path.name
        else:
            self.root = path
            self.store_name = STORE
        if self.zip is None:
            self.root.mkdir(parents=True, exist_ok=True)

    def put(self, name: str, doc: Any) -> None:
        data = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
        if self.zip is not None:
            self.zip.writestr(name, data)
        else:
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def write(objects: Iterable[dict[str, Any]], path: Path) -> int:
    """Write `objects` (an export of ours) as PAM at `path`: a `.zip`, a `.json` store file (its
    companions beside it), or a directory. Returns the records written (memories and turns)."""
    bundle = _Bundle()
    for obj in objects:
        bundle.add(obj)
    superseded_by = {link["to"]: link["from"] for link in bundle.links if link.get("type") == "supersedes"}
    now = iso(now_ms() // 1000 * 1000)
    sink = _Sink(path)
    written = 0
    try:
        conversations: list[dict[str, Any]] = []
        conv_of: dict[str, str] = {}
        for episode_id, turn_ids in bundle.turns.items():
            conv_id = episode_id or f"{bundle.owner or 'memos'}-unfiled"
            conv_id = lo.source_id(conv_id)
            messages = []
            for i, tid in enumerate(turn_ids):
                ext = bundle.ext[tid]
                messages.append(_message(ext["record"], ext["content"], ext, turn_ids[i - 1] if i else None,
                                         turn_ids[i + 1] if i + 1 < len(turn_ids) else None))
            written += len(messages)
            sink.put(f"conversations/{conv_id}.json",
                     _conversation(episode_id, bundle.episodes.get(episode_id) if episode_id else None, messages, conv_id))
            if episode_id:
                conv_of[episode_id] = conv_id
            conversations.append({"id": conv_id, "messages": messages, "episode": episode_id})
        for episode_id, episode in bundle.episodes.items():  # an episode with no turns still gets its file
            if episode_id not in conv_of:
                conv_id = lo.source_id(episode_id)
                sink.put(f"conversations/{conv_id}.json", _conversation(episode_id, episode, [], conv_id))
                conv_of[episode_id] = conv_id
                conversations.append({"id": conv_id, "messages": [], "episode": episode_id})
        memories: list[dict[str, Any]] = []
        embeddings: list[dict[str, Any]] = []
        for mid in bundle.store_ids:
            ext = bundle.ext[mid]
            record = ext["record"]
            vectors = ext.get("vectors") or []
            emb_ref = f"emb-{mid}" if vectors else None
            if vectors:
                v = vectors[0]
                embeddings.append({"id": emb_ref, "memory_id": mid, "model": v["model"], "dimensions": v["dimensions"],
                                   "created_at": now, "vector": v["vector"], "storage": None})
            memories.append(_memory(record, ext["content"], ext, superseded_by.get(mid),
                                    conv_of.get(str(record.get("episode"))), emb_ref))
        in_store = {m["id"] for m in memories}
        relations = []
        for link in bundle.links:
            if link["from"] in in_store and link["to"] in in_store:
                relations.append({"id": "rel-" + hashlib.sha256(f"{link['from']}\x1f{link['type']}\x1f{link['to']}"
                                                                .encode()).hexdigest()[:20],
                                  "from": link["from"], "to": link["to"],
                                  "type": link["type"] if link["type"] in _RELATION_TYPES else "related_to",
                                  "confidence": None, "created_at": link["created_at"]})
        index = []
        for conv in conversations:
            msgs = conv["messages"]
            episode = bundle.episodes.get(conv["episode"] or "") or {}
            created = episode.get("opened_at") or (msgs[0]["created_at"] if msgs else now)
            index.append({
                "id": conv["id"], "platform": "memos", "title": episode.get("task") or None,
                "message_count": len(msgs),
                "temporal": {"created_at": created, "updated_at": episode.get("closed_at") or
                             (msgs[-1]["created_at"] if msgs else created)},
                "tags": [], "derived_memories": [m["id"] for m in memories
                                                 if m["provenance"]["conversation_ref"] == conv["id"]],
                "storage": {"type": "file", "ref": f"conversations/{conv['id']}.json", "format": "json"},
            })
        store = {
            "schema": "portable-ai-memory", "schema_version": "1.0",
            "spec_uri": "https://portable-ai-memory.org/spec/v1.0", "export_id": str(uuid.uuid4()),
            "exported_by": _producer(), "export_date": now, "owner": {"id": bundle.owner or "memos"},
            "memories": memories, "relations": relations, "conversations_index": index,
            "integrity": {"canonicalization": "RFC8785", "checksum": sha256_of(sorted(memories, key=lambda m: m["id"])),
                          "total_memories": len(memories)},
            "export_type": "full",
        }
        if embeddings:
            sink.put("embeddings.json", {"schema": "portable-ai-memory-embeddings", "schema_version": "1.0",
                                         "embeddings": embeddings})
        sink.put(sink.store_name, store)
        written += len(memories)
    finally:
        sink.close()
    return written

