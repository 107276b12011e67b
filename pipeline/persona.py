"""A persona: a structured record (name, role, traits, preferences, style), versioned, rendered into
plain sentences so the world model reads facts from it like from any message.

Each version is stored as one memory of kind `persona` (id `persona.<persona id>.v<version>`,
tagged `persona:<persona id>`): its content is the rendered sentences, its metadata the record
under `persona`, with the earlier versions' records in `history`. Pure logic; service/personas.py
writes and reads them through the memory service.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pipeline.errors import Invalid

PERSONA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
TAG = "persona"  # every persona memory carries it, beside `persona:<id>`
MAX_ITEMS = 32  # traits or preferences per persona
MAX_HISTORY = 20  # earlier versions kept in the newest one's metadata (the oldest drop out)


@dataclass(frozen=True)
class Persona:
    """What the client states; `version`, `agent` and `active` are the server's."""

    id: str
    name: str
    role: str = ""
    traits: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()
    style: str = ""
    agent: str = ""
    active: bool = True
    version: int = 1
    updated_at: int = 0
    history: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def same_statements(self, other: Persona) -> bool:
        """Whether both state the same things (a PUT of an unchanged record makes no new version)."""
        return statements(self) == statements(other)

    def record(self) -> dict[str, Any]:
        """The version's own fields, as kept in `history` once a newer version replaces it."""
        out = asdict(self)
        out.pop("history")
        out["traits"], out["preferences"] = list(self.traits), list(self.preferences)
        return out


def check_persona_id(persona_id: str) -> str:
    if not PERSONA_ID.fullmatch(persona_id):
        raise Invalid(f"persona id {persona_id[:80]!r} must be 1-64 letters, digits, '_' or '-'")
    return persona_id


def memory_id(persona_id: str, version: int) -> str:
    return f"persona.{persona_id}.v{version}"


def id_tag(persona_id: str) -> str:
    return f"{TAG}:{persona_id}"


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return f"{text}." if text else ""


def statements(p: Persona) -> list[str]:
    """The persona as sentences the fact extractor reads ("Nova works as a research assistant.")."""
    name = " ".join(p.name.split())
    out = [_sentence(f"{name} works as {_article(p.role)}")] if p.role.strip() else []
    out += [_sentence(f"{name} is {t}") for t in p.traits if t.strip()]
    out += [_sentence(f"{name} prefers {pref}") for pref in p.preferences if pref.strip()]
    if p.style.strip():
        out.append(_sentence(f"{name} prefers a {p.style.strip()} style"))
    return out or [_sentence(f"{name} is a persona")]


def _article(role: str) -> str:
    role = " ".join(role.split())
    if role.lower().startswith(("a ", "an ", "the ")):
        return role
    return ("an " if role[:1].lower() in "aeiou" else "a ") + role


def render(p: Persona) -> str:
    return " ".join(statements(p))


def to_metadata(p: Persona) -> dict[str, Any]:
    return {"persona": p.record(), "history": list(p.history)[-MAX_HISTORY:]}


def from_metadata(metadata: dict[str, Any]) -> Persona | None:
    """The persona a memory's metadata holds, or None when it holds none (any persona-kind memory
    a client wrote itself)."""
    raw = metadata.get("persona")
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not PERSONA_ID.fullmatch(raw["id"]):
        return None
    try:
        return Persona(
            id=raw["id"], name=str(raw["name"]), role=str(raw.get("role", "")),
            traits=tuple(str(t) for t in raw.get("traits", ())),
            preferences=tuple(str(t) for t in raw.get("preferences", ())),
            style=str(raw.get("style", "")), agent=str(raw.get("agent", "")), active=bool(raw.get("active", True)),
            version=int(raw.get("version", 1)), updated_at=int(raw.get("updated_at", 0)),
            history=tuple(h for h in metadata.get("history", ()) if isinstance(h, dict)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def next_version(current: Persona | None, wanted: Persona, now: int) -> Persona:
    """The version a PUT stores: the first, or the current one's successor with it in `history`."""
    if current is None:
        return replace(wanted, version=1, updated_at=now, history=())
    history = (*current.history, current.record())[-MAX_HISTORY:]
    return replace(wanted, version=current.version + 1, updated_at=now, history=history)
