"""OpenClaw's native memory, as MemOS's migration reads it: session transcripts
`agents/<agent>/sessions/<session>.jsonl` and the memory index `memory/<agent>.sqlite` (table
`chunks(id, path, text, updated_at, ...)`), in the state directory (`~/.openclaw`), a ZIP of it,
or one session file.

Each session file becomes a closed episode: user and assistant text become message traces (the
metadata OpenClaw wraps around inbound messages stripped, thinking kept in metadata), an
assistant's `toolCall` and its `toolResult` one tool-call trace, an image a trace of its own (its
bytes are not kept). Each memory chunk becomes a note trace, with its vector when the index holds
one. Lines of other types (model changes, custom events) are skipped.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.source_files import SourceTree, head, invalid, is_zip
from pipeline.interchange.model import iso, to_ms

NAME = "openclaw"
PLATFORM = "openclaw"
SESSION = re.compile(r"(?:^|/)([^/]+)/sessions/([^/]+\.jsonl(?:\.[^/]+)?)$")
INDEX = re.compile(r"(?:^|/)memory/([^/]+)\.sqlite$")
_SENTINELS = (
    "Conversation info (untrusted metadata):",
    "Sender (untrusted metadata):",
    "Thread starter (untrusted, for context):",
    "Replied message (untrusted, for context):",
    "Forwarded message context (untrusted metadata):",
    "Chat history since last reply (untrusted, for context):",
)
_ENVELOPE = re.compile(r"^\s*\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}(?::\d{2})?\s+"
                       r"[A-Z]{2,4}[+-]?\d{0,2}\]\s*")
_MESSAGE_ID_TAG = re.compile(r"\[message_id:\s*[A-Za-z0-9-]+\]|\[\[reply_to_current\]\]", re.I)
_INJECTED = re.compile(r"<memory_context>.*?(?:</memory_context>|\Z)|=== MemOS LONG-TERM MEMORY.*?(?:\n\n|\Z)", re.S)


def _session_parts(name: str) -> tuple[str, str] | None:
    m = SESSION.search(name)
    return (m.group(1), m.group(2)) if m else None


def detect(path: Path) -> bool:
    if path.is_file() and not is_zip(path):
        first = head(path, 4096).split("\n", 1)[0]
        try:
            line = orjson.loads(first)
        except orjson.JSONDecodeError:
            return False
        return isinstance(line, dict) and (
            (line.get("type") == "session" and "cwd" in line)
            or (line.get("type") == "message" and isinstance(line.get("message"), dict)
                and "role" in line["message"] and "parentId" in line))
    if path.is_dir() or is_zip(path):
        with SourceTree(path) as tree:
            return any(_session_parts(n) or INDEX.search(n) for n in tree.names())
    return False


def strip_inbound(text: str) -> str:
    """A user message without what OpenClaw wrapped around it: its envelope time, channel
    metadata blocks, reply tags and memory another plugin injected."""
    text = _INJECTED.sub("", text)
    text = _ENVELOPE.sub("", _MESSAGE_ID_TAG.sub("", text))
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if lines[i].strip() in _SENTINELS:
            i += 1
            if i < len(lines) and lines[i].strip().startswith("```"):
                i += 1
                while i < len(lines) and lines[i].strip() != "```":
                    i += 1
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return _ENVELOPE.sub("", "\n".join(out)).strip()


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [p for p in content if isinstance(p, dict)]
    return []


def _text(parts: list[dict[str, Any]], kind: str = "text", key: str = "text") -> str:
    return "\n".join(str(p.get(key)) for p in parts if p.get("type") == kind and p.get(key))


class _Session:
    """One transcript being turned into an episode and its traces."""

    def __init__(self, agent: str, file_name: str, fallback_ms: int) -> None:
        self.agent = agent
        self.session = re.sub(r"\.jsonl$", "", file_name).replace(".jsonl.", ".")
        self.episode = lo.source_id("openclaw", agent, self.session)
        self.fallback = iso(fallback_ms)
        self.calls: dict[str, tuple[dict[str, Any], str, str]] = {}  # id -> (call, at, entry id)
        self.first: str | None = None
        self.last: str | None = None
        self.task = ""
        self.records: list[dict[str, Any]] = []

    def _id(self, *parts: object) -> str:
        return lo.source_id("openclaw", self.agent, self.session, *parts)

    def _trace(self, mid: str, kind: str, content: str, at: str, meta: dict[str, Any], **kw: Any) -> None:
        meta = {**meta, "openclaw": {"agent": self.agent, "session": self.session}}
        self.records.append(lo.trace(mid, kind, content, at, PLATFORM, metadata=meta, episode_id=self.episode,
                                     conversation_ref=self.session, **kw))

    def line(self, entry: dict[str, Any]) -> None:
        at = lo.time_iso(entry.get("timestamp")) or lo.time_iso((entry.get("message") or {}).get("timestamp"))
        if entry.get("type") == "session":
            self.first = self.first or at
            return
        if entry.get("type") != "message" or not isinstance(entry.get("message"), dict):
            return
        msg = entry["message"]
        at = at or lo.time_iso(msg.get("timestamp")) or self.last or self.fallback
        self.first = self.first or at
        self.last = at
        role = msg.get("role")
        parts = _parts(msg.get("content"))
        eid = entry.get("id") or f"line{len(self.records)}"
        if role == "user":
            text = strip_inbound(_text(parts))
            if text:
                self.task = self.task or text[:500]
                self._trace(self._id(eid), "message", text, at, {"role": "user"}, message_ref=str(eid))
            for i, p in enumerate(x for x in parts if x.get("type") == "image"):
                mime = str(p.get("mimeType") or p.get("mime_type") or "image")
                self._trace(self._id(eid, "image", i), "image", f"[image {mime}]", at,
                            {"role": "user", "mime": mime}, message_ref=str(eid))
        elif role == "assistant":
            text = _text(parts)
            meta: dict[str, Any] = {"role": "assistant"}
            thinking = _text(parts, "thinking", "thinking")
            if thinking:
                meta["thinking"] = thinking
            if msg.get("model"):
                meta["model"] = msg["model"]
            if text.strip():
                self._trace(self._id(eid), "message", text, at, meta, message_ref=str(eid))
            for p in parts:
                if p.get("type") in ("toolCall", "tool_use") and p.get("name"):
                    self.calls[str(p.get("id") or f"{eid}-{len(self.calls)}")] = (p, at, str(eid))
        elif role == "toolResult":
            call_id = str(msg.get("toolCallId") or "")
            call, called_at, _ = self.calls.pop(call_id, ({"name": msg.get("toolName") or "tool"}, at, str(eid)))
            self._tool(call_id or str(eid), call, called_at, _text(parts), bool(msg.get("isError")), at)

    def _tool(self, call_id: str, call: dict[str, Any], called_at: str, result: str | None, failed: bool | None,
              done_at: str | None) -> None:
        duration = to_ms(done_at) - to_ms(called_at) if done_at else None
        tool = lo.tool_call(str(call.get("name")), call.get("arguments") or call.get("input"), result or None,
                            failed=failed, duration_ms=duration)
        self._trace(self._id("tool", call_id), "tool_call", lo.render_tool(tool), called_at, {"role": "assistant"},
                    tool=tool)

    def finish(self) -> Iterator[dict[str, Any]]:
        for call_id, (call, at, _) in list(self.calls.items()):  # a call whose result never came
            self._tool(call_id, call, at, None, None, None)
        self.calls.clear()
        if not self.records:
            return
        opened = self.first or self.records[0]["temporal"]["created_at"]
        yield lo.episode(self.episode, opened, task=self.task, closed_at=max(self.last or opened, opened))
        yield from self.records


def _read_session(stream: IO[bytes], agent: str, file_name: str, fallback_ms: int) -> Iterator[dict[str, Any]]:
    session = _Session(agent, file_name, fallback_ms)
    for n, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise invalid(f"{file_name} line {n}", f"not valid JSON ({exc})") from exc
        if isinstance(entry, dict):
            session.line(entry)
    yield from session.finish()


def _read_index(db_path: Path, agent: str, where: str) -> Iterator[dict[str, Any]]:
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise invalid(where, f"not a readable SQLite database ({exc})") from exc
    try:
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}
        except sqlite3.DatabaseError as exc:
            raise invalid(where, f"not a readable SQLite database ({exc})") from exc
        missing = {"id", "path", "text", "updated_at"} - columns
        if missing:
            raise invalid(where, f"table chunks lacks {', '.join(sorted(missing))}")
        extra = [c for c in ("start_line", "end_line", "source", "model", "embedding") if c in columns]
        sql = f"SELECT id, path, text, updated_at{''.join(', ' + c for c in extra)} FROM chunks ORDER BY " \
              "CASE WHEN updated_at < 100000000000 THEN updated_at * 1000 ELSE updated_at END, id"
        for row in conn.execute(sql):
            values = dict(zip(["id", "path", "text", "updated_at", *extra], row))
            text = str(values["text"] or "").strip()
            if not text:
                continue
            mid = lo.source_id("openclaw", agent, "chunk", values["id"])
            meta = {"openclaw": {"agent": agent, **{k: values[k] for k in ("path", "start_line", "end_line", "source")
                                                    if values.get(k) is not None}}}
            yield lo.trace(mid, "note", text, lo.time_iso(values["updated_at"], iso(0)), PLATFORM, metadata=meta,
                           tags=["openclaw-memory"], message_ref=str(values["id"]))
            vec = _embedding(values.get("embedding"))
            if vec and values.get("model"):
                yield lo.vector(mid, str(values["model"]), vec)
    finally:
        conn.close()


def _embedding(raw: Any) -> list[float] | None:
    if not isinstance(raw, str) or not raw.startswith("["):
        return None
    try:
        values = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    ok = isinstance(values, list) and values and all(isinstance(v, (int, float)) for v in values)
    return [float(v) for v in values] if ok else None


def read(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_file() and not is_zip(path):
        parts = _session_parts(path.resolve().as_posix())
        agent = parts[0] if parts else "main"
        with path.open("rb") as f:
            yield from _read_session(f, agent, path.name, int(path.stat().st_mtime * 1000))
        return
    with SourceTree(path) as tree:
        sessions = [(n, p) for n in tree.names() if (p := _session_parts(n))]
        indexes = [(n, m.group(1)) for n in tree.names() if (m := INDEX.search(n))]
        if not sessions and not indexes:
            raise invalid(path.name, "no agents/<agent>/sessions/*.jsonl or memory/<agent>.sqlite in it")
        for name, (agent, file_name) in sessions:
            with tree.open(name) as f:
                yield from _read_session(f, agent, file_name, tree.mtime_ms(name))
        for name, agent in indexes:
            with tree.local_file(name) as db_path:
                yield from _read_index(db_path, agent, PurePosixPath(name).as_posix())
