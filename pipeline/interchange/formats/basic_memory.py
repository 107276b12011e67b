"""basic-memory notes (basicmachines-co/basic-memory): Markdown files with YAML front matter
(`title`, `type`, `permalink`, `tags`, `created`, `modified`), whose list items are observations
(`- [category] text #tag (context)`) and relations (`- relation_type [[Target]] (context)`). A
project directory, a ZIP of one, or one note.

Each note becomes a note trace (its body as Markdown, its front matter in metadata); each
observation a note trace of its own, tagged with its category and hashtags and linked `part_of`
its note, so the server reads its facts from it; each relation a link of that type (and each
wiki link in prose a `links_to` link) to the note it names, found by title or permalink. A
relation to a note not in the import is kept in the note's metadata, since a link needs both ends.
Task items (`- [ ] ...`), links and callouts are not observations, as in basic-memory itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from markdown_it import MarkdownIt

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.source_files import SourceTree, head, invalid, is_zip
from pipeline.interchange.model import iso

NAME = "basic-memory"
PLATFORM = "basic-memory"
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_BM_KEYS = re.compile(r"^(permalink|title)\s*:", re.M)
_CATEGORY = re.compile(r"^\[([^\[\]()]+)\]\s+(.+)", re.S)
_CLOCK = re.compile(r"^\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?(?:\s+-\s+\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)?$")
_WIKI = re.compile(r"\[\[([^\[\]]+?)\]\]")
_MD = MarkdownIt("commonmark")


def _is_note(name: str) -> bool:
    p = PurePosixPath(name)
    return p.suffix.casefold() == ".md" and not any(part.startswith(".") for part in p.parts)


def _has_front_matter(text: str) -> bool:
    m = _FRONT.match(text.lstrip("\ufeff"))
    return bool(m and _BM_KEYS.search(m.group(1)))


def detect(path: Path) -> bool:
    if path.is_file() and not is_zip(path):
        return _is_note(path.name) and _has_front_matter(head(path))
    if path.is_dir() or is_zip(path):
        with SourceTree(path) as tree:
            for name in (n for n in tree.names() if _is_note(n)):
                with tree.open(name) as f:
                    if _has_front_matter(f.read(4096).decode("utf-8", errors="replace")):
                        return True
    return False


# --- parsing one note ---------------------------------------------------------------------------


def split_front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    text = text.lstrip("\ufeff")
    m = _FRONT.match(text)
    if not m:
        return {}, text
    try:
        front = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise invalid(where, f"front matter is not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(front, dict):
        raise invalid(where, "front matter must be a mapping")
    return front, text[m.end():]


def _tags_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t.strip().lstrip("#") for t in re.split(r"[,\s]+", value) if t.strip()]
    if isinstance(value, list):
        return [str(t).lstrip("#") for t in value if t is not None]
    return []


def _plain(value: Any) -> Any:
    """Front matter as JSON: dates become ISO strings."""
    if isinstance(value, datetime):
        return lo.time_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _context(text: str) -> tuple[str, str | None]:
    if text.endswith(")") and "(" in text:
        start = text.rfind("(")
        return text[:start].strip(), text[start + 1:-1].strip() or None
    return text, None


def parse_observation(text: str) -> dict[str, Any] | None:
    """`[category] content #tag (context)`, or content with hashtags; None for anything else."""
    text = text.strip()
    if not text or text.startswith(("[ ]", "[x]", "[X]", "[-]", "[/]", "[>]", "[?]")):
        return None
    if re.fullmatch(r"\[.*?\]\(.*?\)", text) or re.fullmatch(r"\[\[.*?\]\]", text):
        return None
    category = None
    m = _CATEGORY.match(text)
    if m and not _CLOCK.match(m.group(1).strip()) and len(m.group(1).strip()) > 1:
        category, text = m.group(1).strip(), m.group(2).strip()
    elif not any(w.startswith("#") and len(w) > 1 for w in text.split()):
        return None
    content, context = _context(text)
    tags = [t for w in content.split() if w.startswith("#") for t in w.split("#") if t]
    return {"category": category, "content": content, "tags": tags, "context": context} if content else None


def parse_relation(text: str) -> dict[str, Any] | None:
    """`type [[Target]] (context)` (a quoted type may hold spaces); None when the line is prose."""
    text = text.strip()
    before, sep, rest = text.partition("[[")
    before = before.strip()
    if not sep or not before:
        return None
    if before[0] in "'\"" and before.endswith(before[0]) and len(before) > 1:
        rel_type = before[1:-1].strip()
    elif any(c.isspace() for c in before):
        return None
    else:
        rel_type = before
    target, sep, after = rest.partition("]]")
    after = after.strip()
    if not sep or not target.strip() or not rel_type:
        return None
    if after and not (after.startswith("(") and after.endswith(")") and after.count("(") == 1):
        return None
    return {"type": rel_type, "target": target.strip(), "context": after[1:-1].strip() or None if after else None}


def parse_body(body: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The observations and relations of a note's Markdown, as basic-memory reads them."""
    observations: list[dict[str, Any]] = []
    relations: list[dict[str, Any]] = []
    in_item = quote = 0
    for token in _MD.parse(body):
        if token.type == "list_item_open":
            in_item += 1
        elif token.type == "list_item_close":
            in_item -= 1
        elif token.type == "blockquote_open":
            quote += 1
        elif token.type == "blockquote_close":
            quote -= 1
        elif token.type == "inline":
            text = token.content
            rel = parse_relation(text) if in_item and "[[" in text else None
            if rel is not None:
                relations.append(rel)
                continue
            relations.extend({"type": "links_to", "target": t.strip(), "context": None}
                             for t in _WIKI.findall(text) if t.strip())
            if in_item and not quote:
                obs = parse_observation(text)
                if obs is not None:
                    observations.append(obs)
    return observations, relations


# --- reading ------------------------------------------------------------------------------------


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().casefold())


class _Note:
    def __init__(self, name: str, text: str, mtime_ms: int) -> None:
        self.name = name
        self.front, self.body = split_front_matter(text, name)
        stem = PurePosixPath(name).with_suffix("").as_posix()
        self.permalink = str(self.front.get("permalink") or stem)
        self.title = str(self.front.get("title") or PurePosixPath(name).stem)
        self.id = lo.source_id("basic-memory", self.permalink.replace("/", "."))  # `/` is no id character
        self.created = lo.time_iso(self.front.get("created") or self.front.get("date"), iso(mtime_ms)) or iso(mtime_ms)
        self.modified = lo.time_iso(self.front.get("modified"), None)


def _notes(path: Path) -> Iterator[_Note]:
    """Each note of the source, parsed; read again on each call, so only one is held at a time."""
    if path.is_file() and not is_zip(path):
        yield _Note(path.name, _decode(path.read_bytes(), path.name), int(path.stat().st_mtime * 1000))
        return
    with SourceTree(path) as tree:
        for name in (n for n in tree.names() if _is_note(n)):
            yield _Note(name, _decode(tree.read_bytes(name), name), tree.mtime_ms(name))


def read(path: Path) -> Iterator[dict[str, Any]]:
    index: dict[str, str] = {}
    for note in _notes(path):  # pass one: a wiki link names a note by title, permalink or file name
        for key in (note.title, note.permalink, PurePosixPath(note.name).stem):
            index.setdefault(_key(key), note.id)
    if not index:
        raise invalid(path.name, "no Markdown notes in it")
    links: list[dict[str, Any]] = []
    for note in _notes(path):
        observations, relations = parse_body(note.body)
        unresolved = []
        seen: set[tuple[str, str]] = set()
        for rel in relations:
            target = index.get(_key(rel["target"])) or index.get(_key(rel["target"].split("|")[0].split("#")[0]))
            kind = lo.link_type(rel["type"])
            if target is None or target == note.id:
                if target is None:
                    unresolved.append({k: v for k, v in rel.items() if v is not None})
                continue
            if (kind, target) in seen:
                continue
            seen.add((kind, target))
            meta = {"relation": rel["type"], **({"context": rel["context"]} if rel["context"] else {})}
            links.append(lo.link(note.id, target, kind, note.modified or note.created, meta))
        front = {k: _plain(v) for k, v in note.front.items()}
        meta: dict[str, Any] = {"basic_memory": {"title": note.title, "permalink": note.permalink, "path": note.name,
                                                 "type": str(note.front.get("type") or "note"),
                                                 "front_matter": front}}
        if unresolved:
            meta["basic_memory"]["unresolved_relations"] = unresolved
        body = note.body.strip() or note.title
        yield lo.trace(note.id, "note", body, note.created, PLATFORM, metadata=meta, updated_at=note.modified,
                       tags=_tags_of(note.front.get("tags")), extraction_method="manual",
                       message_ref=note.permalink)
        for obs in observations:
            oid = lo.content_id(f"{note.id[:80]}-obs", obs["category"], obs["content"])
            tags = ([obs["category"]] if obs["category"] else []) + obs["tags"]
            ometa = {"basic_memory": {"observation": {k: v for k, v in obs.items() if v not in (None, [])},
                                      "note": note.permalink}}
            yield lo.trace(oid, "note", obs["content"], note.created, PLATFORM, metadata=ometa, tags=tags,
                           updated_at=note.modified, extraction_method="manual", source_ids=[note.id])
            links.append(lo.link(oid, note.id, "part_of", note.created))
    yield from links


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(where, f"not UTF-8 text (byte {exc.start})") from exc
