"""The Markdown vault: one file per memory a person can read and edit, and read back as a bundle.

Layout (paths use the ids, `:` written as `%3A`):

    manifest.json                      format, version, producer, cubes, counts, sha256 per file
    episodes/<id>.md                   an episode: front matter, its task as the body
    <tier>/<kind>/<id>.md              a trace or world memory
    skill/<id>/SKILL.md                a skill (front matter opens with `name` and `description`)

Each memory file is YAML front matter holding every field of the memory object but `content`
(plus its earlier `versions`, its `feedback` events and the `links` that start at it), then the
content as the Markdown body, then, when it has links, a Relations section of `- <type> [[<id>]]`
lines. Reading a file back gives the same objects; a relation line added by hand becomes a new
link. An edited body or field is a change the import applies as the memory's next version
(pipeline/interchange/plan.py), since the front matter still names the version it was made on.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import yaml

from pipeline.interchange.bundle import checked
from pipeline.interchange.model import LineError, check_version, iso

try:  # libyaml when present: several times faster on big vaults
    from yaml import CSafeDumper as _Dumper, CSafeLoader as _Loader
except ImportError:  # pragma: no cover - the pure-Python one reads and writes the same YAML
    from yaml import SafeDumper as _Dumper, SafeLoader as _Loader  # type: ignore[assignment]

RELATIONS_MARK = "<!-- memos:relations -->"
_RELATION = re.compile(r"^- ([a-z][a-z0-9_]{0,39}) \[\[([^\]\n]+)\]\]\s*$")
# Derived from the rest, so not written where a person would have to keep them true.
_LEFT_OUT = ("object", "content", "content_hash", "type")
_OWN = ("object", "memory_id")


def file_name(memory_id: str) -> str:
    return memory_id.replace("%", "%25").replace(":", "%3A")


def memory_path(obj: dict[str, Any]) -> str:
    if obj["tier"] == "skill":
        return f"skill/{file_name(obj['id'])}/SKILL.md"
    return f"{obj['tier']}/{obj.get('kind') or 'note'}/{file_name(obj['id'])}.md"


def _yaml(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100)


def _document(front: dict[str, Any], body: str, links: list[dict[str, Any]]) -> bytes:
    text = f"---\n{_yaml(front)}---\n{body}\n"
    if links:
        lines = "".join(f"- {link['type']} [[{link['to']}]]\n" for link in links)
        text += f"\n{RELATIONS_MARK}\n## Relations\n\n{lines}"
    return text.encode()


def memory_file(memory: dict[str, Any], belonging: list[dict[str, Any]]) -> tuple[str, bytes]:
    """One memory and what follows it in the bundle (versions, feedback, links from it) as a file."""
    front: dict[str, Any] = {}
    if memory["tier"] == "skill":  # SKILL.md: what an agent reads first
        front = {"name": memory["metadata"].get("name"), "description": memory["metadata"].get("description")}
    front.update({k: v for k, v in memory.items() if k not in _LEFT_OUT})
    versions = [{k: v for k, v in o.items() if k not in _OWN} for o in belonging
                if o["object"] in ("version", "skill_version")]
    feedback = [{k: v for k, v in o.items() if k not in _OWN} for o in belonging if o["object"] == "feedback"]
    links = [{k: v for k, v in o.items() if k not in ("object", "from")} for o in belonging if o["object"] == "link"]
    for key, values in (("versions", versions), ("feedback_events", feedback), ("links", links)):
        if values:
            front[key] = values
    return memory_path(memory), _document(front, memory["content"], links)


def episode_file(episode: dict[str, Any]) -> tuple[str, bytes]:
    front = {k: v for k, v in episode.items() if k not in ("object", "task")}
    return f"episodes/{file_name(episode['id'])}.md", _document(front, episode.get("task") or "", [])


def vault_files(objects: Iterable[dict[str, Any]]) -> Iterator[tuple[str, bytes]]:
    """The bundle's objects (in bundle order) as vault files; vectors are left out (re-embedded on import)."""
    memory: dict[str, Any] | None = None
    belonging: list[dict[str, Any]] = []
    for obj in objects:
        kind = obj["object"]
        if kind in ("version", "skill_version", "feedback") or (kind == "link" and memory is not None
                                                                 and obj["from"] == memory["id"]):
            belonging.append(obj)
            continue
        if kind == "vector":
            continue
        if memory is not None:
            yield memory_file(memory, belonging)
            memory, belonging = None, []
        if kind == "memory":
            memory = obj
        elif kind == "episode":
            yield episode_file(obj)
    if memory is not None:
        yield memory_file(memory, belonging)


def vault_manifest(header: dict[str, Any], files: dict[str, str], counts: dict[str, int]) -> bytes:
    manifest = {"object": "manifest", **{k: v for k, v in header.items() if k != "object"}, "container": "vault",
                "counts": counts, "parts": {p: {"sha256": d, "count": 1, "path": p} for p, d in sorted(files.items())}}
    return orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- reading -------------------------------------------------------------------------------------


def split_document(text: str, where: str) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
    """Front matter, body and relation lines of one vault file."""
    if not text.startswith("---\n"):
        raise LineError(where, "", "a vault file starts with YAML front matter between --- lines")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise LineError(where, "", "the front matter is not closed by a --- line")
    try:
        front = yaml.load(text[4:end + 1], Loader=_Loader)
    except yaml.YAMLError as exc:
        raise LineError(where, "front matter", f"is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(front, dict):
        raise LineError(where, "front matter", "must be a mapping of fields")
    rest = text[end + 5:]
    relations: list[tuple[str, str]] = []
    mark = rest.rfind(f"\n\n{RELATIONS_MARK}\n")
    if mark >= 0:
        for line in rest[mark:].splitlines():
            found = _RELATION.match(line)
            if found:
                relations.append((found.group(1), found.group(2).strip()))
        rest = rest[:mark + 1]
    body = rest[:-1] if rest.endswith("\n") else rest
    return front, body, relations


def file_objects(path: str, text: str, now: int) -> Iterator[dict[str, Any]]:
    """The objects one vault file holds, in bundle order; `now` dates a relation line added by hand."""
    front, body, relations = split_document(text, path)
    if path.startswith("episodes/"):
        yield {"object": "episode", **front, "task": body}
        return
    front = dict(front)
    if front.get("tier") == "skill":
        front.pop("name", None)
        front.pop("description", None)
    versions = front.pop("versions", None) or []
    feedback = front.pop("feedback_events", None) or []
    links = front.pop("links", None) or []
    memory = {"object": "memory", **front, "content": body}
    yield memory
    memory_id = memory.get("id")
    version_type = "skill_version" if memory.get("tier") == "skill" else "version"
    for v in _records(versions, path, "versions"):
        yield {"object": version_type, "memory_id": memory_id, **v}
    for f in _records(feedback, path, "feedback_events"):
        yield {"object": "feedback", "memory_id": memory_id, **f}
    listed = set()
    for link in _records(links, path, "links"):
        listed.add((link.get("type"), link.get("to")))
        yield {"object": "link", "from": memory_id, **link}
    for link_type, to in relations:
        if (link_type, to) not in listed:
            yield {"object": "link", "from": memory_id, "to": to, "type": link_type, "created_at": iso(now)}


def _records(values: Any, where: str, field: str) -> list[dict[str, Any]]:
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise LineError(where, field, "must be a list of mappings")
    return values


def is_vault_path(path: str) -> bool:
    return path.endswith(".md") and not path.split("/")[-1].startswith(".")


class VaultBundle:
    """Reads a vault from a folder or a ZIP of one (its files at the top or under one folder, e.g.
    `vault/`); iterate for the checked objects. `manifest.json`, when present, names the version;
    its digests are not enforced, since a vault is meant to be edited."""

    def __init__(self, source: Path, now: int) -> None:
        self.source, self._now = source, now
        self._files = _VaultFiles(source)
        raw = self._files.read_manifest()
        self.lenient = False
        self.header: dict[str, Any] = {}
        if raw is not None:
            if raw.get("format") is not None and raw.get("format") != "memos-interchange":
                raise LineError("manifest.json", "format", "is not memos-interchange")
            self.lenient = check_version(str(raw.get("version") or "1.0"))
            self.header = {k: raw[k] for k in ("format", "version", "created_at", "producer", "cubes") if k in raw}

    def _objects(self) -> Iterator[tuple[str, Any]]:
        for path, text in self._files.documents():
            for obj in file_objects(path, text, self._now):
                yield path, obj

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return checked(self._objects(), lenient=self.lenient)


class _VaultFiles:
    """The Markdown files of a vault folder or ZIP, episodes first, each path relative to the vault's root."""

    def __init__(self, source: Path) -> None:
        self._source = source
        self._zip = zipfile.ZipFile(source) if source.is_file() else None
        names = self._zip.namelist() if self._zip is not None else [
            str(p.relative_to(source)) for p in sorted(source.rglob("*")) if p.is_file()]
        roots = {n.split("/", 1)[0] for n in names if "/" in n}
        self._prefix = ""
        if "manifest.json" not in names and len(roots) == 1 and not any(r in ("episodes", "trace", "world", "skill")
                                                                          for r in roots):
            self._prefix = f"{roots.pop()}/"
        self._names = sorted((n[len(self._prefix):] for n in names if n.startswith(self._prefix)),
                             key=lambda n: (not n.startswith("episodes/"), n))

    def read_manifest(self) -> dict[str, Any] | None:
        if "manifest.json" not in self._names:
            return None
        try:
            raw = orjson.loads(self._read("manifest.json"))
        except orjson.JSONDecodeError as exc:
            raise LineError("manifest.json", "", f"not valid JSON ({exc})") from None
        return raw if isinstance(raw, dict) else None

    def _read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + name)
        return (self._source / name).read_bytes()

    def documents(self) -> Iterator[tuple[str, str]]:
        for name in self._names:
            if not is_vault_path(name):
                continue
            try:
                yield name, self._read(name).decode()
            except UnicodeDecodeError:
                raise LineError(name, "", "is not UTF-8 text") from None
