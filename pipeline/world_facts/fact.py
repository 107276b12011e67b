"""The world-fact record: its closed set of predicates, how each reads, and the trace it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Predicate(StrEnum):
    NAME = "name"
    AGE = "age"
    IS = "is"  # a persona attribute: vegetarian, left-handed, an introvert
    WORKS_AS = "works_as"
    WORKS_AT = "works_at"
    STUDIES = "studies"
    LIVES_IN = "lives_in"
    IS_FROM = "is_from"
    BORN_IN = "born_in"
    MARRIED_TO = "married_to"
    HAS_CHILD = "has_child"
    HAS_SIBLING = "has_sibling"
    HAS_PET = "has_pet"
    LIKES = "likes"
    DISLIKES = "dislikes"
    PREFERS = "prefers"
    SPEAKS = "speaks"
    ALLERGIC_TO = "allergic_to"
    USES = "uses"
    OWNS = "owns"
    PLANS_TO = "plans_to"


@dataclass(frozen=True)
class PredicateSpec:
    """How a predicate behaves: whether a subject holds one value at a time, and how it reads."""

    single_valued: bool
    phrase: str  # "lives in": rendered as "<subject> lives in <object>."
    negated: str  # "does not live in"
    opposite: Predicate | None = None  # likes X and dislikes X cannot both hold


PREDICATES: dict[Predicate, PredicateSpec] = {
    Predicate.NAME: PredicateSpec(True, "is named", "is not named"),
    Predicate.AGE: PredicateSpec(True, "is aged", "is not aged"),
    Predicate.IS: PredicateSpec(False, "is", "is not"),
    Predicate.WORKS_AS: PredicateSpec(True, "works as", "does not work as"),
    Predicate.WORKS_AT: PredicateSpec(True, "works at", "does not work at"),
    Predicate.STUDIES: PredicateSpec(False, "studies", "does not study"),
    Predicate.LIVES_IN: PredicateSpec(True, "lives in", "does not live in"),
    Predicate.IS_FROM: PredicateSpec(True, "is from", "is not from"),
    Predicate.BORN_IN: PredicateSpec(True, "was born in", "was not born in"),
    Predicate.MARRIED_TO: PredicateSpec(True, "is married to", "is not married to"),
    Predicate.HAS_CHILD: PredicateSpec(False, "has a child:", "has no child:"),
    Predicate.HAS_SIBLING: PredicateSpec(False, "has a sibling:", "has no sibling:"),
    Predicate.HAS_PET: PredicateSpec(False, "has a pet:", "has no pet:"),
    Predicate.LIKES: PredicateSpec(False, "likes", "does not like", Predicate.DISLIKES),
    Predicate.DISLIKES: PredicateSpec(False, "dislikes", "does not dislike", Predicate.LIKES),
    Predicate.PREFERS: PredicateSpec(False, "prefers", "does not prefer"),
    Predicate.SPEAKS: PredicateSpec(False, "speaks", "does not speak"),
    Predicate.ALLERGIC_TO: PredicateSpec(False, "is allergic to", "is not allergic to"),
    Predicate.USES: PredicateSpec(False, "uses", "does not use"),
    Predicate.OWNS: PredicateSpec(False, "owns", "does not own"),
    Predicate.PLANS_TO: PredicateSpec(False, "plans to", "does not plan to"),
}


@dataclass(frozen=True)
class TraceText:
    """One trace to extract from: its id, text, time (ms since epoch) and speaker when known."""

    trace_id: str
    text: str
    time_ms: int
    speaker: str | None = None


@dataclass(frozen=True)
class WorldFact:
    """A belief about a subject, with where it came from and when it became true."""

    subject: str
    predicate: Predicate
    object: str
    polarity: bool
    confidence: float
    valid_from: int
    source_ids: tuple[str, ...]
    relation: str | None = None  # "sister": the fact is about the subject's sister
    valid_to: int | None = None
    rule: str = "explicit"
    evidence: str = ""  # the sentence it was read from

    @property
    def spec(self) -> PredicateSpec:
        return PREDICATES[self.predicate]

    @property
    def single_valued(self) -> bool:
        return self.spec.single_valued

    @property
    def key(self) -> tuple[str, str | None, str]:
        """What a fact is about: facts with the same key can agree or contradict."""
        return (self.subject.casefold(), self.relation, self.predicate.value)

    @property
    def object_key(self) -> str:
        return normalize_object(self.object)

    def render(self) -> str:
        """The Markdown body of the fact's memory: one plain sentence."""
        who = f"{self.subject}'s {self.relation}" if self.relation else self.subject
        verb = self.spec.phrase if self.polarity else self.spec.negated
        return f"{who} {verb} {self.object}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "relation": self.relation,
            "predicate": self.predicate.value,
            "object": self.object,
            "polarity": self.polarity,
            "confidence": self.confidence,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "source_ids": list(self.source_ids),
            "single_valued": self.single_valued,
            "rule": self.rule,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldFact:
        return cls(
            subject=str(data["subject"]),
            predicate=Predicate(data["predicate"]),
            object=str(data["object"]),
            polarity=bool(data["polarity"]),
            confidence=float(data["confidence"]),
            valid_from=int(data["valid_from"]),
            valid_to=None if data.get("valid_to") is None else int(data["valid_to"]),
            source_ids=tuple(str(s) for s in data.get("source_ids") or ()),
            relation=data.get("relation"),
            rule=str(data.get("rule") or "explicit"),
            evidence=str(data.get("evidence") or ""),
        )


_LEADING_WORDS = {"a", "an", "the", "my", "our", "your", "his", "her", "their", "some", "any"}
_PUNCT = re.compile(r"[^\w\s'-]+")
_SPACES = re.compile(r"\s+")


def normalize_object(text: str) -> str:
    """Case, punctuation and leading determiners do not make two objects different."""
    words = _SPACES.sub(" ", _PUNCT.sub(" ", text.casefold())).strip().split(" ")
    while words and words[0] in _LEADING_WORDS:
        words = words[1:]
    return " ".join(words)
