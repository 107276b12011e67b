"""Letta agent files (`.af`, letta-ai/agent-file): the current `AgentFileSchema` (`agents`, `blocks`,
`tools`, ...; agents name their blocks by `block_ids`) and the older single-agent file
(`core_memory`, `messages`), also when a file holds its JSON as one JSON string.

Reading: the `persona` block becomes a persona trace spoken by the agent, `human` a persona
trace spoken by the user, every other block a note; each agent's messages become one closed
episode. MemGPT's conventions are undone: a packed user message (`{"type": "user_message",
"message": ...}`) is its message, heartbeats and logins are dropped, a `send_message` call is
the agent's reply (its inner monologue kept as `thinking`), other tool calls with their returns
are tool-call traces. System prompts, tools and tool rules are not memory and are not imported.
Letta renumbers ids on every export, so ids come from each item's agent, time and text.

Writing: one agent whose `persona` block holds our personas and whose `human` block holds the
strongest active world facts (by confidence), with the last messages of the cube as its
conversation, in the current schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.source_files import head, invalid, is_zip
from pipeline.interchange.model import iso, to_ms
from pipeline.timefmt import now_ms

NAME = "letta"
PLATFORM = "letta"
BLOCK_LIMIT = 20_000
MAX_FACTS = 50
MAX_MESSAGES = 50
DEFAULT_MODEL = "openai/gpt-4o-mini"  # a model handle, so a stock Letta server can create the agent
DEFAULT_EMBEDDING = "openai/text-embedding-3-small"
_CURRENT = re.compile(r'"agents"\s*:\s*\[')
_LEGACY = re.compile(r'"core_memory"\s*:')
_AGENTISH = re.compile(r'"(block_ids|agent_type|memory_blocks|in_context_message_ids|llm_config)"\s*:')
_ESCAPED = re.compile(r'\\"(agents|core_memory)\\"\s*:')
_PACKED_SKIP = {"login", "heartbeat", "system_alert", "system_message"}


def detect(path: Path) -> bool:
    if not path.is_file() or is_zip(path):
        return False
    text = head(path).lstrip()
    if text.startswith('"'):
        return bool(_ESCAPED.search(text))
    if not text.startswith("{"):
        return False
    return bool(_AGENTISH.search(text)) and bool(_CURRENT.search(text) or _LEGACY.search(text))


# --- reading ------------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    try:
        doc: Any = orjson.loads(path.read_bytes())
        if isinstance(doc, str):  # some published .af files hold their JSON as one JSON string
            doc = orjson.loads(doc)
    except orjson.JSONDecodeError as exc:
        raise invalid(path.name, f"not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise invalid(path.name, "expected a JSON object")
    return doc


def _agents(doc: dict[str, Any], where: str) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each agent with its blocks, in either layout."""
    if isinstance(doc.get("agents"), list):
        blocks = {b.get("id"): b for b in doc.get("blocks") or [] if isinstance(b, dict)}
        for i, agent in enumerate(doc["agents"]):
            if not isinstance(agent, dict):
                raise invalid(f"{where}: agents[{i}]", "expected an object")
            own = [blocks[b] for b in agent.get("block_ids") or [] if b in blocks]
            own += [b for b in agent.get("memory_blocks") or [] if isinstance(b, dict)]
            yield agent, own
    elif isinstance(doc.get("core_memory"), list) or isinstance(doc.get("messages"), list):
        yield doc, [b for b in doc.get("core_memory") or [] if isinstance(b, dict)]
    else:
        raise invalid(where, "neither `agents` nor `core_memory`: not a Letta agent file")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text")) for p in content if isinstance(p, dict) and p.get("text"))
    return ""


def _unpack_user(text: str) -> str | None:
    """A MemGPT user message is JSON: its `message`; heartbeats and logins are no message at all."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return text
    try:
        packed = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return text
    if not isinstance(packed, dict) or "type" not in packed:
        return text
    if packed.get("type") in _PACKED_SKIP:
        return None
    message = packed.get("message")
    return str(message) if message else None


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            return {"input": raw}
    args = dict(raw) if isinstance(raw, dict) else ({"input": raw} if raw is not None else {})
    args.pop("request_heartbeat", None)
    return args


def _tool_outcome(msg: dict[str, Any]) -> tuple[Any, bool | None]:
    """A tool message's result and whether it failed, from `tool_returns` or MemGPT's packed status."""
    for ret in msg.get("tool_returns") or []:
        if isinstance(ret, dict):
            return _unpack_result(ret.get("func_response")), ret.get("status") not in (None, "success")
    return _unpack_result(_text(msg.get("content")), status_too=True)


def _unpack_result(text: Any, status_too: bool = False) -> Any:
    if not isinstance(text, str):
        return (text, None) if status_too else text
    try:
        packed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return (text, None) if status_too else text
    if isinstance(packed, dict) and "status" in packed:
        result = packed.get("message")
        result = None if result in (None, "None") else result
        failed = str(packed.get("status")).casefold() not in ("ok", "success")
        return (result, failed) if status_too else result
    return (packed, None) if status_too else packed


class _Agent:
    def __init__(self, agent: dict[str, Any], where: str) -> None:
        self.name = str(agent.get("name") or agent.get("id") or "agent")
        # In MemGPT-style agents an assistant's text is its inner monologue; letta_v1 agents say it.
        self.speaks_text = agent.get("agent_type") == "letta_v1_agent"
        self.where = where
        self.records: list[dict[str, Any]] = []
        self.pending: dict[str, tuple[dict[str, Any], str, str]] = {}
        self.first: str | None = None
        self.last: str | None = None
        self.episode = lo.content_id("letta-episode", self.name, agent.get("created_at") or "")

    def _add(self, kind: str, content: str, at: str, meta: dict[str, Any], *key: object, **kw: Any) -> None:
        self.records.append(lo.trace(lo.content_id("letta", self.name, at, kind, content, *key), kind, content, at,
                                     PLATFORM, metadata={**meta, "letta": {"agent": self.name}},
                                     episode_id=self.episode, **kw))

    def message(self, msg: dict[str, Any], fallback: str) -> None:
        at = lo.time_iso(msg.get("created_at"), self.last or fallback)
        role = msg.get("role")
        if role == "system":
            return
        self.first = self.first or at
        self.last = at
        text = _text(msg.get("content"))
        if role == "user":
            said = _unpack_user(text)
            if said and said.strip():
                self._add("message", said, at, {"role": "user"})
        elif role == "assistant":
            calls = [c for c in msg.get("tool_calls") or [] if isinstance(c, dict)]
            replies = []
            for call in calls:
                fn = call.get("function") or {}
                args = _arguments(fn.get("arguments"))
                if fn.get("name") == "send_message" and args.get("message"):
                    replies.append(str(args["message"]))
                elif fn.get("name"):
                    self.pending[str(call.get("id"))] = ({"name": fn["name"], "arguments": args}, at,
                                                         "" if self.speaks_text else text)
            meta: dict[str, Any] = {"role": "assistant"}
            if text.strip() and (self.speaks_text or not calls):
                replies.insert(0, text)
            elif text.strip() and replies:
                meta["thinking"] = text
            for i, reply in enumerate(replies):
                self._add("message", reply, at, meta, i)
        elif role == "tool":
            call = self.pending.pop(str(msg.get("tool_call_id")), None)
            if call is not None:
                result, failed = _tool_outcome(msg)
                self._tool(call, result, failed)

    def _tool(self, call: tuple[dict[str, Any], str, str], result: Any, failed: bool | None) -> None:
        spec, at, thinking = call
        tool = lo.tool_call(spec["name"], spec["arguments"], result, failed=failed)
        meta: dict[str, Any] = {"role": "assistant"}
        if thinking.strip():
            meta["thinking"] = thinking
        self._add("tool_call", lo.render_tool(tool), at, meta, spec["name"], tool=tool)

    def finish(self, task: str) -> Iterator[dict[str, Any]]:
        for call in self.pending.values():
            self._tool(call, None, None)
        if not self.records:
            return
        yield lo.episode(self.episode, self.first or self.records[0]["temporal"]["created_at"], task=task,
                         closed_at=self.last)
        yield from self.records


def _blocks(name: str, blocks: list[dict[str, Any]], at: str) -> Iterator[dict[str, Any]]:
    for block in blocks:
        value = str(block.get("value") or "").strip()
        label = str(block.get("label") or "block")
        if not value:
            continue
        meta: dict[str, Any] = {"letta": {"agent": name, "block": label}}
        if block.get("description"):
            meta["letta"]["description"] = block["description"]
        if label == "persona":
            kind, meta["speaker"] = "persona", name
        elif label == "human":
            kind, meta["speaker"] = "persona", "user"
        else:
            kind = "note"
        created = lo.time_iso(block.get("updated_at") or block.get("created_at"), at)
        yield lo.trace(lo.content_id("letta-block", name, label, value), kind, value, created, PLATFORM,
                       metadata=meta, tags=["letta-block", label], extraction_method="manual")


def read(path: Path) -> Iterator[dict[str, Any]]:
    doc = _load(path)
    fallback = lo.time_iso(doc.get("created_at")) or iso(int(path.stat().st_mtime * 1000))
    for i, (agent, blocks) in enumerate(_agents(doc, path.name)):
        where = f"{path.name}: agent {agent.get('name') or i}"
        reader = _Agent(agent, where)
        yield from _blocks(reader.name, blocks, lo.time_iso(agent.get("created_at"), fallback) or fallback)
        for j, msg in enumerate(agent.get("messages") or []):
            if not isinstance(msg, dict):
                raise invalid(f"{where}: messages[{j}]", "expected an object")
            reader.message(msg, fallback)
        yield from reader.finish(str(agent.get("description") or f"Conversation with {reader.name}")[:500])


# --- writing ------------------------------------------------------------------------------------


def _fit(lines: list[str], limit: int = BLOCK_LIMIT) -> str:
    out, size = [], 0
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def _block(i: int, label: str, value: str, description: str) -> dict[str, Any]:
    return {"value": value, "limit": BLOCK_LIMIT, "project_id": None, "template_name": None, "is_template": False,
            "template_id": None, "base_template_id": None, "deployment_id": None, "entity_id": None,
            "preserve_on_migration": False, "label": label, "read_only": False, "description": description,
            "metadata": {}, "hidden": None, "id": f"block-{i}"}


def _message(i: int, role: str, text: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": "text", "text": text}] if text else [],
            "name": None, "otid": None, "sender_id": None, "batch_item_id": None, "group_id": None,
            "id": f"message-{i}", "model": None, "agent_id": "agent-0", "tool_calls": extra.get("tool_calls"),
            "tool_call_id": extra.get("tool_call_id"), "tool_returns": extra.get("tool_returns") or [],
            "created_at": at, "approve": None, "approval_request_id": None, "denial_reason": None, "approvals": []}


def _keep_last(turns: list[dict[str, Any]]) -> None:
    turns.sort(key=lambda r: (to_ms(r["temporal"]["created_at"]), r["id"]))
    del turns[:-MAX_MESSAGES]


SYSTEM = ("You are a helpful assistant with long-term memory. Your persona block says who you are; your human "
          "block holds what is known about the person you talk to, strongest facts first.")


def write(objects: Iterable[dict[str, Any]], path: Path) -> int:
    """Our export as one Letta agent (`.af`, current schema). Returns the records it carries."""
    personas: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    name = None
    for obj in objects:
        if obj.get("object") != "memory" or obj.get("status", "active") != "active":
            continue
        name = name or obj.get("cube") or obj.get("agent")
        if obj["tier"] == "world":
            facts.append(obj)
        elif obj.get("kind") == "persona":
            personas.append(obj)
        elif obj.get("kind") in ("message", "tool_call") and obj["tier"] == "trace":
            turns.append(obj)
            if len(turns) > 4 * MAX_MESSAGES:  # keep memory bounded on a big cube: only the last ones go out
                _keep_last(turns)
    _keep_last(turns)
    facts.sort(key=lambda r: (-float((r.get("metadata") or {}).get("confidence") or 0), r["temporal"]["created_at"]))
    facts = facts[:MAX_FACTS]
    personas.sort(key=lambda r: r["temporal"]["created_at"])
    persona = _fit(list(dict.fromkeys(p["content"].strip() for p in personas)))
    human = _fit([f"- {f['content'].strip()}" for f in facts])
    now = iso(now_ms())
    messages = [_message(0, "system", SYSTEM, now)]
    for r in turns:
        at = r["temporal"]["created_at"]
        if r.get("kind") == "tool_call" and r.get("tool"):
            tool = r["tool"]
            call_id = f"call-{len(messages)}"
            messages.append(_message(len(messages), "assistant", "", at, tool_calls=[{
                "id": call_id, "type": "function",
                "function": {"name": tool["name"], "arguments": orjson.dumps(tool.get("arguments") or {}).decode()}}]))
            result = tool.get("result")
            text = result if isinstance(result, str) else orjson.dumps(result).decode()
            failed = (tool.get("status") or "ok").casefold() not in ("ok", "success")
            messages.append(_message(len(messages), "tool", text, at, tool_call_id=call_id, tool_returns=[{
                "tool_call_id": call_id, "status": "error" if failed else "success", "stdout": None, "stderr": None,
                "func_response": text}]))
        else:
            role = (r.get("metadata") or {}).get("role") or "user"
            messages.append(_message(len(messages), "assistant" if role in ("assistant", "agent") else "user",
                                     r["content"], at))
    blocks = [_block(0, "persona", persona, "Who the agent is (from the cube's personas)."),
              _block(1, "human", human, "What is known about the user: the cube's strongest world facts.")]
    agent = {
        "name": str(name or "memos-agent"), "memory_blocks": [], "tools": [], "tool_ids": [], "source_ids": [],
        "folder_ids": None, "block_ids": [b["id"] for b in blocks], "tool_rules": [], "tags": ["memos-export"],
        "system": SYSTEM, "agent_type": "letta_v1_agent", "llm_config": None, "embedding_config": None,
        "initial_message_sequence": None, "include_base_tools": False, "include_multi_agent_tools": False,
        "include_base_tool_rules": False, "include_default_source": False,
        "description": f"Exported from MemOS cube {name or ''}".strip(), "metadata": None,
        "model": DEFAULT_MODEL, "embedding": DEFAULT_EMBEDDING, "message_buffer_autoclear": False,
        "enable_sleeptime": False, "timezone": "UTC", "id": "agent-0",
        "in_context_message_ids": [m["id"] for m in messages], "messages": messages, "files_agents": [],
        "group_ids": [],
    }
    doc = {"agents": [agent], "groups": [], "blocks": blocks, "files": [], "sources": [], "tools": [],
           "mcp_servers": [], "metadata": {"exported_by": "memos"}, "created_at": now}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    return len(personas) + len(facts) + len(turns)
