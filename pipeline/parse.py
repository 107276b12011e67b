"""Parse stage: intake rows (JSON drafts) become typed rows with index text, hash and token count."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pyarrow as pa

from pipeline.errors import Invalid
from pipeline.records import INTAKE_SCHEMA, PARSED_SCHEMA, Op

CountTokens = Callable[[Sequence[str]], Sequence[int]]
# The text read from an image: (cube, the image's facts) -> its words (pipeline/ocr.py over its blob).
ImageText = Callable[[str, dict[str, Any]], str]

_SPACE = re.compile(r"\s+")


def encode_draft(draft: dict[str, Any]) -> bytes:
    """The draft as the intake log stores it. The HTTP boundary (pipeline/input_bounds.py) keeps out
    what orjson cannot write; a value from another way in (a lone surrogate, an integer past 64 bits,
    nesting past 254) is refused here as Invalid, never a 500 after a partial write (issue 13)."""
    try:
        return orjson.dumps(draft)
    except orjson.JSONEncodeError as exc:
        raise Invalid(f"the memory cannot be stored as JSON: {exc}") from None


def decode_draft(payload: bytes) -> dict[str, Any]:
    value = orjson.loads(payload)
    if not isinstance(value, dict):
        raise ValueError("draft is not a JSON object")
    return value


def speaker_of(metadata: dict[str, Any]) -> str | None:
    """Who said a message, when the client told us (`speaker`, else `role`)."""
    for key in ("speaker", "role"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def render_tool(tool: dict[str, Any]) -> str:
    """A tool call as text: `name(arg=value, ...) -> status: result`."""
    args = ", ".join(f"{k}={v}" for k, v in (tool.get("arguments") or {}).items())
    out = f"{tool.get('name', '?')}({args})"
    if tool.get("status"):
        out += f" -> {tool['status']}"
    if tool.get("result") not in (None, ""):
        out += f": {tool['result']}"
    return out


def render_index_text(kind: str, content: str, metadata: dict[str, Any], tool: dict[str, Any] | None = None,
                      image_text: str = "") -> str:
    """The text that BM25 and the embedder see: the body plus who said it (and the tool call, and
    the words OCR read in an image)."""
    speaker = speaker_of(metadata)
    body = content.strip()
    caption = metadata.get("caption")
    if isinstance(caption, str) and caption.strip():
        body = f"{body} [image: {caption.strip()}]"
    if image_text.strip():
        body = f"{body} [image text: {image_text.strip()}]"
    if tool:
        body = f"{body} [tool {render_tool(tool)}]"
    return f"{speaker}: {body}" if speaker else body


def content_hash(kind: str, content: str, metadata: dict[str, Any], tool: dict[str, Any] | None = None,
                 image_sha256: str | None = None) -> str:
    """Identity of a memory's content for exact-duplicate detection.

    Whitespace runs and case do not make two memories different; the kind, the speaker, the
    tool call and an image's bytes do ("Yes." from two people is two memories; so are two photos
    with one caption).
    """
    normal = _SPACE.sub(" ", content).strip().casefold()
    tool_part = orjson.dumps(tool, option=orjson.OPT_SORT_KEYS).decode() if tool else ""
    identity = "\x1f".join([kind, speaker_of(metadata) or "", normal, tool_part])
    if image_sha256:
        identity += "\x1fimage:" + image_sha256
    return hashlib.sha256(identity.encode()).hexdigest()


def _image_of(draft: dict[str, Any], image_text: ImageText | None) -> dict[str, Any] | None:
    """An image draft's facts with the words read from it (read here once; an update carries them)."""
    image = draft.get("image")
    if draft.get("kind") != "image" or not isinstance(image, dict) or not isinstance(image.get("sha256"), str):
        return None
    if isinstance(image.get("ocr_text"), str):
        return image
    return {**image, "ocr_text": image_text(str(draft["cube"]), image) if image_text is not None else ""}


def _memory_fields(draft: dict[str, Any], image_text: ImageText | None = None) -> dict[str, Any]:
    """The columns of a memory body (adds and updates)."""
    metadata = draft.get("metadata") or {}
    tool = draft.get("tool")
    kind, content = str(draft["kind"]), str(draft["content"])
    image = _image_of(draft, image_text)
    return {
        "tier": str(draft["tier"]),
        "kind": kind,
        "content": content,
        "index_text": render_index_text(kind, content, metadata, tool, image["ocr_text"] if image else ""),
        "tags": [str(t) for t in draft.get("tags") or []],
        "metadata": orjson.dumps(metadata).decode(),
        "created_at": int(draft["created_at"]),
        "updated_at": int(draft.get("updated_at") or draft["created_at"]),
        "content_hash": content_hash(kind, content, metadata, tool, image["sha256"] if image else None),
        "source_ids": [str(s) for s in draft.get("source_ids") or []],
        "base_version": draft.get("base_version"),
        "reembed": bool(draft.get("reembed", True)),
        "episode": draft.get("episode"),
        "tool": orjson.dumps(tool).decode() if tool else None,
        "attrs": orjson.dumps({"image": image}).decode() if image else None,
        "expires_at": draft.get("expires_at"),
    }


# What each non-memory op carries, kept whole as the row's `attrs`.
_ATTRS_OPS = (Op.EPISODE, Op.FEEDBACK, Op.LINK, Op.STATUS)


def _parse_row(op: str, cube: str, memory_id: str, payload: bytes, image_text: ImageText | None) -> dict[str, Any]:
    draft = decode_draft(payload)
    if draft.get("id") != memory_id or draft.get("cube") != cube:
        raise ValueError("draft id or cube does not match its intake row")
    row: dict[str, Any] = {"id": memory_id, "cube": cube, "agent": str(draft["agent"])}
    if op in (Op.ADD, Op.UPDATE):
        row.update(_memory_fields(draft, image_text))
    elif op == Op.RESTORE:  # a bundle's object with the state it was exported with, kept as `attrs`
        restore = dict(draft.get("restore") or {})
        if draft.get("object") == "memory":
            body = _memory_fields(draft, image_text)
            image = body.pop("attrs")
            row.update(body)
            if image is not None:
                restore["image"] = orjson.loads(image)["image"]
        row.update(attrs=orjson.dumps({"object": draft.get("object"), **restore}).decode())
    elif op in _ATTRS_OPS:
        attrs = {k: v for k, v in draft.items() if k not in ("id", "cube", "agent")}
        row.update(attrs=orjson.dumps(attrs).decode(), created_at=int(draft.get("at") or 0))
    elif op != Op.DELETE:
        raise ValueError(f"op {op!r} does not come from the intake log")
    return row


def parse_batch(batch: pa.RecordBatch, count_tokens: CountTokens, image_text: ImageText | None = None) -> pa.RecordBatch:
    """Decode each intake row's draft; a row that cannot be decoded carries an `error`. An image's
    words are read by `image_text` (none given: its caption alone is indexed)."""
    if not batch.schema.equals(INTAKE_SCHEMA):
        raise TypeError(f"parse_batch expects the intake schema, got {batch.schema}")
    rows: list[dict[str, Any]] = []
    for entry in batch.to_pylist():
        base = {"seq": entry["seq"], "job_id": entry["job_id"], "op": entry["op"]}
        try:
            parsed = _parse_row(entry["op"], entry["cube"], entry["memory_id"], entry["payload"], image_text)
            rows.append({**base, **parsed, "error": None})
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
            rows.append(
                {**base, "id": entry["memory_id"], "cube": entry["cube"], "error": f"unparseable draft: {exc}"}
            )
    texts = [r["index_text"] for r in rows if r.get("index_text") is not None]
    counts = iter(count_tokens(texts)) if texts else iter(())
    for row in rows:
        row["tokens"] = next(counts) if row.get("index_text") is not None else 0
        row.setdefault("reembed", False)
    return pa.RecordBatch.from_pylist(rows, schema=PARSED_SCHEMA)
