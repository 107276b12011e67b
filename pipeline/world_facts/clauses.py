"""Clauses to extract from: a predicate head with its resolved subject, relation and modifiers.

A subject that cannot be resolved (he, she, they, we) and a clause that asserts no present fact
yield no clause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.world_facts.assertion import is_hypothetical, is_negated, is_past
from pipeline.world_facts.fact import Predicate, normalize_object
from pipeline.world_facts.lexicon import (
    CHILDREN,
    DEICTIC,
    HEDGE_VERBS,
    HEDGES,
    NOT_SUBJECT_ENTS,
    PETS,
    RELATIONS,
    SIBLINGS,
    SPOUSES,
    WH_WORDS,
)

if TYPE_CHECKING:  # spaCy is imported only by the loader, so importing this module stays cheap
    from spacy.tokens import Token

UNKNOWN_SPEAKER = "user"  # first-person subject when the client did not say who spoke


@dataclass
class Clause:
    """One predicate head with its resolved subject and modifiers."""

    head: Token
    subject: str
    relation: str | None
    reported: bool  # the subject is not the speaker
    negated: bool
    hedged: bool
    sentence: str
    facts: list[tuple[Predicate, str, bool, str]] = field(default_factory=list)
    derived: bool = False  # built from the subject phrase ("my sister Emma"), not from the verb

    def add(self, predicate: Predicate, obj: str, rule: str, polarity: bool | None = None) -> None:
        obj = obj.strip(" ,.;:!-")
        key = normalize_object(obj)
        if not key or key in DEICTIC or key.split()[0] in WH_WORDS:
            return
        self.facts.append((predicate, obj, (not self.negated) if polarity is None else polarity, rule))


def clauses_of(head: Token, speaker: str | None, sentence: str) -> list[Clause]:
    subject_token = subject_of(head)
    if subject_token is None:
        return []
    subject = _resolve_subject(subject_token, speaker)
    if subject is None:
        return []
    name, relation, reported = subject
    if is_hypothetical(head) or is_past(head):
        return []
    clause = Clause(
        head=head,
        subject=name,
        relation=relation,
        reported=reported,
        negated=is_negated(head),
        hedged=any(t.lower_ in HEDGES for t in head.sent)
        or any(a.lemma_.lower() in HEDGE_VERBS for a in head.ancestors),
        sentence=sentence,
    )
    clauses = [clause]
    if relation is not None:
        clauses.extend(_relative_name_clause(subject_token, clause))
    return clauses


def subject_of(head: Token) -> Token | None:
    for child in head.children:
        if child.dep_ in ("nsubj", "nsubjpass"):
            return child
    # "I live in Lisbon and work at Stripe": a conjoined verb shares its first verb's subject.
    if head.dep_ == "conj" and head.head.pos_ in ("VERB", "AUX") and not any(
        c.dep_ in ("nsubj", "nsubjpass") for c in head.children
    ):
        return subject_of(head.head)
    return None


def _resolve_subject(token: Token, speaker: str | None) -> tuple[str, str | None, bool] | None:
    """(subject, relation, reported) for a subject token, or None when it cannot be resolved."""
    me = speaker or UNKNOWN_SPEAKER
    if token.lower_ == "i":
        return me, None, False
    lemma = token.lemma_.lower()
    if lemma in RELATIONS and token.pos_ == "NOUN":
        owner = next((c for c in token.children if c.dep_ == "poss"), None)
        if owner is None:
            return None
        if owner.lower_ == "my":
            return me, RELATIONS[lemma], True
        if owner.pos_ == "PROPN":
            return _proper_name(owner), RELATIONS[lemma], True
        return None
    if owner_is_me := any(c.dep_ == "poss" and c.lower_ == "my" for c in token.children):
        # "My name is Dana", "My favorite color is green": about the speaker.
        if lemma == "name" or any(c.lower_ in ("favorite", "favourite") for c in token.children):
            return me, None, False
    if token.pos_ == "PROPN" and token.ent_type_ not in NOT_SUBJECT_ENTS and not owner_is_me:
        name = _proper_name(token)
        return name, None, name.casefold() != me.casefold()
    return None


def _proper_name(token: Token) -> str:
    parts = [c for c in token.children if c.dep_ == "compound" and c.pos_ == "PROPN"] + [token]
    return " ".join(t.text for t in sorted(parts, key=lambda t: t.i))


def _relative_name_clause(subject_token: Token, clause: Clause) -> list[Clause]:
    """"My sister Emma ...": the speaker has a sister named Emma, whatever else is said."""
    name = next((c for c in subject_token.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
    owner = next((c for c in subject_token.children if c.dep_ == "poss"), None)
    if name is None or owner is None or owner.lower_ != "my":
        return []
    lemma = subject_token.lemma_.lower()
    extra = Clause(clause.head, clause.subject, None, False, False, clause.hedged, clause.sentence,
                   derived=True)
    if lemma in SPOUSES:
        extra.add(Predicate.MARRIED_TO, _proper_name(name), "relative_name")
    elif lemma in CHILDREN:
        extra.add(Predicate.HAS_CHILD, f"{subject_token.text} {_proper_name(name)}", "relative_name")
    elif lemma in SIBLINGS:
        extra.add(Predicate.HAS_SIBLING, f"{subject_token.text} {_proper_name(name)}", "relative_name")
    elif lemma in PETS:
        extra.add(Predicate.HAS_PET, f"{subject_token.text} {_proper_name(name)}", "relative_name")
    return [extra] if extra.facts else []
