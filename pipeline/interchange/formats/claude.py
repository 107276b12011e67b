"""Claude's data export: `conversations.json` (alone, or in the export's ZIP with `memories.json`), a
list of conversations with their `chat_messages` (`sender` human or assistant, `content` blocks).

Each conversation becomes a closed episode (its name the task, its summary in the task when it
has no name): each message a message trace, its `thinking` kept in metadata, each `tool_use`
with its `tool_result` one tool-call trace, each attachment's extracted text a note trace. In
the ZIP, Claude's memory (`conversations_memory`, `project_memories`) becomes note traces. The
file is streamed one conversation at a time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.json_stream import JsonStreamError, array_items
from pipeline.interchange.formats.source_files import SourceTree, head, invalid, is_zip
from pipeline.interchange.model import iso

NAME = "claude"
PLATFORM = "claude"
FILE = "conversations.json"
_SNIFF = re.compile(r'"chat_messages"\s*:\s*\[')


def _looks(text: str) -> bool:
    return text.lstrip().startswith("[") and bool(_SNIFF.search(text))


def detect(path: Path) -> bool:
    if path.is_file() and not is_zip(path):
        return _looks(head(path))
    if is_zip(path) or path.is_dir():
        with SourceTree(path) as tree:
            name = tree.find(FILE)
            if name is None:
                return False
            with tree.open(name) as f:
                return _looks(f.read(1 << 16).decode("utf-8", errors="replace"))
    return False


def _result_text(block: dict[str, Any]) -> str:
    out = []
    for part in block.get("content") or []:
        if isinstance(part, dict):
            if part.get("type") == "text" and part.get("text"):
                out.append(str(part["text"]))
            elif part.get("type") == "knowledge":
                out.append(" — ".join(str(part[k]) for k in ("title", "url") if part.get(k)))
        elif isinstance(part, str):
            out.append(part)
    return "\n".join(s for s in out if s)


def _message(conv_id: str, episode_id: str, msg: dict[str, Any], at: str) -> Iterator[dict[str, Any]]:
    mid = lo.source_id(PLATFORM, msg.get("uuid"))
    role = "user" if msg.get("sender") == "human" else str(msg.get("sender") or "user")
    common = {"episode_id": episode_id, "conversation_ref": conv_id, "message_ref": str(msg.get("uuid"))}
    for i, att in enumerate(msg.get("attachments") or []):
        if isinstance(att, dict) and str(att.get("extracted_content") or "").strip():
            yield lo.trace(lo.source_id(PLATFORM, msg.get("uuid"), "attachment", i), "note",
                           str(att["extracted_content"]), at, PLATFORM, tags=["attachment"],
                           metadata={"role": role, "attachment": {k: att[k] for k in ("file_name", "file_type",
                                                                                       "file_size") if k in att}},
                           **common)
    blocks = [b for b in msg.get("content") or [] if isinstance(b, dict)]
    texts = [str(b["text"]) for b in blocks if b.get("type") == "text" and b.get("text")]
    if not blocks and msg.get("text"):
        texts = [str(msg["text"])]
    meta: dict[str, Any] = {"role": role}
    thinking = "\n".join(str(b["thinking"]) for b in blocks if b.get("type") == "thinking" and b.get("thinking"))
    if thinking:
        meta["thinking"] = thinking
    files = [f.get("file_name") for f in msg.get("files") or [] if isinstance(f, dict) and f.get("file_name")]
    if files:
        meta["files"] = files
    calls: list[dict[str, Any]] = []
    for j, b in enumerate(blocks):
        if b.get("type") == "tool_use" and b.get("name"):
            calls.append({**b, "_at": j})
        elif b.get("type") == "tool_result":
            call = next((c for c in calls if c.get("name") == b.get("name")), None) or \
                {"name": b.get("name") or "tool", "input": {}, "_at": j}
            if call in calls:
                calls.remove(call)
            tool = lo.tool_call(str(call["name"]), call.get("input"), _result_text(b) or None,
                                failed=bool(b.get("is_error")))
            yield lo.trace(lo.source_id(mid, "tool", call["_at"]), "tool_call",
                           lo.render_tool(tool), at, PLATFORM, metadata={"role": "assistant"}, tool=tool, **common)
    for call in calls:
        tool = lo.tool_call(str(call["name"]), call.get("input"))
        yield lo.trace(lo.source_id(mid, "tool", call["_at"]), "tool_call", lo.render_tool(tool), at, PLATFORM,
                       metadata={"role": "assistant"}, tool=tool, **common)
    text = "\n\n".join(texts)
    if text.strip():
        yield lo.trace(mid, "message", text, at, PLATFORM, metadata=meta, **common)


def _conversation(conv: dict[str, Any], where: str) -> Iterator[dict[str, Any]]:
    conv_id = conv.get("uuid")
    messages = conv.get("chat_messages")
    if not conv_id or not isinstance(messages, list):
        raise invalid(where, "a conversation needs a uuid and chat_messages")
    episode_id = lo.source_id(PLATFORM, conv_id)
    opened = lo.time_iso(conv.get("created_at")) or iso(0)
    last = opened
    records: list[dict[str, Any]] = []
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        at = lo.time_iso(msg.get("created_at")) or last
        last = at
        records.extend(_message(str(conv_id), episode_id, msg, at))
    if not records:
        return
    closed = max(lo.time_iso(conv.get("updated_at")) or last, opened)
    task = str(conv.get("name") or "").strip() or str(conv.get("summary") or "").strip()
    yield lo.episode(episode_id, opened, task=task, closed_at=closed)
    yield from records


def read_stream(stream: IO[bytes], where: str) -> Iterator[dict[str, Any]]:
    try:
        for i, conv in enumerate(array_items(stream)):
            if not isinstance(conv, dict):
                raise invalid(f"{where}[{i}]", "expected a conversation object")
            yield from _conversation(conv, f"{where}[{i}] ({str(conv.get('name'))[:40]})")
    except JsonStreamError as exc:
        raise invalid(where, str(exc)) from exc


def _memories(raw: bytes, when: str) -> Iterator[dict[str, Any]]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid("memories.json", f"not valid JSON ({exc})") from exc
    for entry in doc if isinstance(doc, list) else [doc]:
        if not isinstance(entry, dict):
            continue
        texts = [("conversations", None, entry.get("conversations_memory"))]
        texts += [("project", k, v) for k, v in (entry.get("project_memories") or {}).items()]
        for scope, project, text in texts:
            if isinstance(text, str) and text.strip():
                digest = hashlib.sha256(text.encode()).hexdigest()[:24]
                meta = {"claude_memory": scope, **({"project": project} if project else {})}
                yield lo.trace(f"claude-memory-{digest}", "note", text.strip(), when, PLATFORM, metadata=meta,
                               tags=["claude-memory"])


def read(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_file() and not is_zip(path):
        with path.open("rb") as f:
            yield from read_stream(f, path.name)
        return
    with SourceTree(path) as tree:
        name = tree.find(FILE)
        if name is None:
            raise invalid(path.name, f"no {FILE} in it")
        with tree.open(name) as f:
            yield from read_stream(f, name)
        memories = tree.find("memories.json")
        if memories is not None:
            yield from _memories(tree.read_bytes(memories), iso(tree.mtime_ms(memories)))
