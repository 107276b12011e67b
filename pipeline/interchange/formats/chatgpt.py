"""ChatGPT's data export: `conversations.json` (alone, or in the export's ZIP), a list of
conversations whose messages are a tree in `mapping` (`parent`, `children`, `current_node`).

Each conversation becomes a closed episode (its title the task) holding the branch the user last
saw: from `current_node` up to the root. Branches left behind by edits and regenerations are not
imported, nor hidden system messages. An assistant message addressed to a tool (`recipient`)
and the tool's answer become one tool-call trace; an uploaded image an image trace (its asset
pointer and size in metadata); the "About me" custom instructions a persona trace, once. The
file is streamed one conversation at a time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.json_stream import JsonStreamError, array_items
from pipeline.interchange.formats.source_files import SourceTree, head, invalid, is_zip
from pipeline.interchange.model import iso

NAME = "chatgpt"
PLATFORM = "chatgpt"
FILE = "conversations.json"
_SNIFF = re.compile(r'"mapping"\s*:\s*\{')


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


def _branch(mapping: dict[str, Any], current: str | None) -> list[dict[str, Any]]:
    """The messages from the root to `current` (or, without it, to the newest leaf), in order."""
    if current not in mapping:
        roots = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("parent")]
        current = roots[0] if roots else next(iter(mapping), None)
        while current is not None and (mapping.get(current) or {}).get("children"):
            current = mapping[current]["children"][-1]
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    while current is not None and current in mapping and current not in seen:
        seen.add(current)
        node = mapping[current]
        if isinstance(node, dict):
            path.append(node)
            current = node.get("parent")
        else:
            break
    return path[::-1]


def _text_of(content: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """A message's text, and the images it carried."""
    ctype = content.get("content_type")
    if ctype == "code" or ctype == "execution_output":
        text = str(content.get("text") or "")
        lang = content.get("language")
        return (f"```{lang if lang and lang != 'unknown' else ''}\n{text}\n```" if ctype == "code" and text else text), []
    texts, images = [], []
    for part in content.get("parts") or []:
        if isinstance(part, str):
            if part.strip():
                texts.append(part)
        elif isinstance(part, dict) and part.get("content_type") == "image_asset_pointer":
            images.append({k: part[k] for k in ("asset_pointer", "size_bytes", "width", "height") if k in part})
        elif isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"].strip():
            texts.append(part["text"])
    if not texts and isinstance(content.get("text"), str):
        texts.append(content["text"])
    return "\n".join(texts), images


def _conversation(conv: dict[str, Any], where: str, profiles: set[str]) -> Iterator[dict[str, Any]]:
    conv_id = conv.get("id") or conv.get("conversation_id")
    mapping = conv.get("mapping")
    if not conv_id or not isinstance(mapping, dict):
        raise invalid(where, "a conversation needs an id and a mapping")
    episode_id = lo.source_id(PLATFORM, conv_id)
    branch = [n["message"] for n in _branch(mapping, conv.get("current_node")) if isinstance(n.get("message"), dict)]
    times = [m["create_time"] for m in branch if isinstance(m.get("create_time"), (int, float)) and m["create_time"] > 0]
    opened = lo.time_iso(conv.get("create_time")) or (lo.time_iso(min(times)) if times else iso(0))
    closed = lo.time_iso(conv.get("update_time")) or (lo.time_iso(max(times)) if times else opened)
    out: list[dict[str, Any]] = []
    pending: dict[str, tuple[dict[str, Any], str]] = {}  # tool name -> (call, time)
    last = opened
    for msg in branch:
        meta_in = msg.get("metadata") or {}
        role = str((msg.get("author") or {}).get("role") or "user")
        content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
        at = lo.time_iso(msg.get("create_time")) or last
        last = at
        mid = lo.source_id(PLATFORM, conv_id, msg.get("id"))
        if content.get("content_type") == "user_editable_context":
            for key in ("user_profile", "user_instructions"):
                text = str(content.get(key) or "").strip()
                pid = f"chatgpt-{key.replace('_', '-')}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"
                if text and pid not in profiles:
                    profiles.add(pid)
                    out.append(lo.trace(pid, "persona", text, at, PLATFORM, metadata={"speaker": "user", "chatgpt": key},
                                        tags=["chatgpt-custom-instructions"]))
            continue
        if meta_in.get("is_visually_hidden_from_conversation") or role == "system":
            continue
        text, images = _text_of(content)
        meta: dict[str, Any] = {"role": role}
        if meta_in.get("model_slug"):
            meta["model"] = meta_in["model_slug"]
        recipient = msg.get("recipient")
        if role == "assistant" and recipient not in (None, "all"):  # a call: the code or query it sends
            code = content.get("text") if content.get("content_type") == "code" else None
            args = {"code": code} if code else ({"input": text} if text else {})
            pending[str(recipient)] = ({"name": str(recipient), "arguments": args}, at)
            continue
        if role == "tool":
            name = str((msg.get("author") or {}).get("name") or "tool")
            call, called_at = pending.pop(name, ({"name": name, "arguments": {}}, at))
            tool = lo.tool_call(call["name"], call["arguments"], text or None,
                                failed=msg.get("status") not in (None, "finished_successfully"))
            out.append(lo.trace(mid, "tool_call", lo.render_tool(tool), called_at, PLATFORM, metadata={"role": "tool"},
                                tool=tool, episode_id=episode_id, conversation_ref=str(conv_id),
                                message_ref=str(msg.get("id"))))
            continue
        for i, image in enumerate(images):
            out.append(lo.trace(lo.source_id(PLATFORM, conv_id, msg.get("id"), "image", i), "image",
                                f"[image {image.get('asset_pointer', '')}]".replace(" ]", "]"), at, PLATFORM,
                                metadata={"role": role, **image}, episode_id=episode_id,
                                conversation_ref=str(conv_id), message_ref=str(msg.get("id"))))
        if text.strip():
            out.append(lo.trace(mid, "message", text, at, PLATFORM, metadata=meta, episode_id=episode_id,
                                conversation_ref=str(conv_id), message_ref=str(msg.get("id"))))
    for name, (call, at) in pending.items():  # a call the export holds no answer for
        tool = lo.tool_call(call["name"], call["arguments"])
        out.append(lo.trace(lo.source_id(PLATFORM, conv_id, "call", name), "tool_call", lo.render_tool(tool), at,
                            PLATFORM, metadata={"role": "assistant"}, tool=tool, episode_id=episode_id,
                            conversation_ref=str(conv_id)))
    if not any(r.get("episode") for r in out):
        yield from out
        return
    yield lo.episode(episode_id, opened, task=str(conv.get("title") or ""), closed_at=max(closed, opened))
    yield from out


def read_stream(stream: IO[bytes], where: str) -> Iterator[dict[str, Any]]:
    profiles: set[str] = set()
    try:
        for i, conv in enumerate(array_items(stream)):
            if not isinstance(conv, dict):
                raise invalid(f"{where}[{i}]", "expected a conversation object")
            yield from _conversation(conv, f"{where}[{i}] ({str(conv.get('title'))[:40]})", profiles)
    except JsonStreamError as exc:
        raise invalid(where, str(exc)) from exc


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
