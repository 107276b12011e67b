"""Rules: which head lemmas and structures of a clause yield which predicate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.world_facts.clauses import Clause, subject_of
from pipeline.world_facts.fact import Predicate
from pipeline.world_facts.lexicon import (
    CHILDREN,
    DEICTIC,
    DISLIKE_VERBS,
    KEY_VERBS,
    LIKE_VERBS,
    NOT_PERSONA_NOUNS,
    OCCUPATIONS,
    PERSONA_ADJECTIVES,
    PETS,
    SIBLINGS,
)
from pipeline.world_facts.spans import objects, phrase, place, prep_objects, verb_phrase

if TYPE_CHECKING:  # spaCy is imported only by the loader, so importing this module stays cheap
    from spacy.tokens import Token


def _lemma(token: Token) -> str:
    """The token's lemma, corrected for the verbs the rules key on ("hates" → "hat" otherwise)."""
    lower = token.lower_
    for verb in KEY_VERBS:
        if lower in (verb, verb + "s", verb + "es", verb + "d", verb + "ed", verb + "ing",
                     verb[:-1] + "ing" if verb.endswith("e") else verb):
            return verb
    return token.lemma_.lower()


def apply_rules(clause: Clause) -> None:
    head = clause.head
    lemma = _lemma(head)
    if lemma == "be":
        _copula_rules(clause)
    elif lemma == "live":
        _place_rule(clause, Predicate.LIVES_IN, {"in", "at"}, "explicit")
    elif lemma in ("move", "relocate"):
        _place_rule(clause, Predicate.LIVES_IN, {"to"}, "moved_to")
    elif lemma == "base":
        _place_rule(clause, Predicate.LIVES_IN, {"in"}, "based_or_from")
    elif lemma == "bear":
        _place_rule(clause, Predicate.BORN_IN, {"in"}, "explicit")
    elif lemma == "grow" and any(c.dep_ == "prt" and c.lower_ == "up" for c in head.children):
        _place_rule(clause, Predicate.IS_FROM, {"in"}, "based_or_from")
    elif lemma == "work":
        _work_rules(clause)
    elif lemma == "join":
        for obj in objects(head, "dobj"):
            if obj.pos_ == "PROPN":
                clause.add(Predicate.WORKS_AT, phrase(obj), "joined")
    elif lemma == "marry":
        for obj in objects(head, "dobj") + prep_objects(head, {"to"}):
            clause.add(Predicate.MARRIED_TO, phrase(obj), "explicit")
    elif lemma in LIKE_VERBS or lemma in DISLIKE_VERBS or lemma == "prefer":
        _preference_rules(clause, lemma)
    elif lemma == "stand" and clause.negated:
        for obj in objects(head, "dobj", "xcomp"):
            clause.add(Predicate.DISLIKES, phrase(obj), "explicit", polarity=True)
    elif any(c.lower_ == "rather" for c in head.children):
        clause.add(Predicate.PREFERS, verb_phrase(head), "explicit")
    elif lemma in ("have", "own", "get") and not _has_xcomp(head):
        _possession_rules(clause, lemma)
    elif lemma == "speak":
        for obj in objects(head, "dobj"):
            clause.add(Predicate.SPEAKS, phrase(obj), "explicit")
    elif lemma in ("study", "major"):
        for obj in objects(head, "dobj") + prep_objects(head, {"in"}):
            clause.add(Predicate.STUDIES, phrase(obj), "explicit")
    elif lemma == "learn" and head.tag_ == "VBG":
        for obj in objects(head, "dobj"):
            clause.add(Predicate.STUDIES, phrase(obj), "progressive")
    elif lemma == "use" and not _has_xcomp(head):
        for obj in objects(head, "dobj"):
            clause.add(Predicate.USES, phrase(obj), "explicit")
    elif lemma in ("plan", "intend"):
        for obj in objects(head, "xcomp"):
            clause.add(Predicate.PLANS_TO, verb_phrase(obj), "explicit")
        for obj in objects(head, "dobj"):
            clause.add(Predicate.PLANS_TO, phrase(obj), "explicit")
    elif lemma == "go" and head.tag_ == "VBG":
        # "I'm going to take a course this summer": a plan. Chat is full of "I'm gonna make it
        # happen"; only a going-to with a time ("this summer", "next week") is taken as a plan.
        # "I'm going to the gym" has no xcomp.
        for obj in objects(head, "xcomp"):
            if obj.pos_ == "VERB" and any(t.ent_type_ in ("DATE", "TIME") for t in obj.subtree):
                clause.add(Predicate.PLANS_TO, verb_phrase(obj), "progressive")


def _copula_rules(clause: Clause) -> None:
    head = clause.head
    subject = subject_of(head)
    if subject is not None and subject.lemma_.lower() == "name" and subject.pos_ == "NOUN":
        for attr in objects(head, "attr"):
            clause.add(Predicate.NAME, phrase(attr), "explicit")
        return
    favorite = subject is not None and any(
        c.lower_ in ("favorite", "favourite") for c in subject.children
    )
    for attr in objects(head, "attr", "acomp"):
        if favorite:
            clause.add(Predicate.LIKES, phrase(attr), "fan_or_favorite")
        elif attr.pos_ == "NUM" or attr.like_num:
            clause.add(Predicate.AGE, attr.text, "explicit")
        elif attr.lemma_.lower() == "old" and (age := _years_old(attr)) is not None:
            clause.add(Predicate.AGE, age, "explicit")
        elif attr.lemma_.lower() == "fan":
            for obj in prep_objects(attr, {"of"}):
                clause.add(Predicate.LIKES, phrase(obj), "fan_or_favorite")
        elif attr.lemma_.lower() == "allergic":
            # "allergic to shellfish" sometimes parses "to shellfish" as an infinitive.
            for obj in prep_objects(attr, {"to"}) + objects(attr, "xcomp"):
                clause.add(Predicate.ALLERGIC_TO, phrase(obj), "explicit")
        elif attr.lemma_.lower() == "married":
            for obj in prep_objects(attr, {"to"}):
                clause.add(Predicate.MARRIED_TO, phrase(obj), "explicit")
        elif attr.lower_ == "based":
            for obj in prep_objects(attr, {"in"}):
                clause.add(Predicate.LIVES_IN, place(obj), "based_or_from")
        elif attr.lower_ in PERSONA_ADJECTIVES or attr.lemma_.lower() in PERSONA_ADJECTIVES:
            clause.add(Predicate.IS, phrase(attr, drop_preps=True), "persona")
        elif attr.dep_ == "attr" and attr.pos_ in ("NOUN", "PROPN"):
            _noun_attribute(clause, attr)
    for obj in prep_objects(head, {"from"}):
        clause.add(Predicate.IS_FROM, place(obj), "based_or_from")
    for prep in (c for c in head.children if c.dep_ == "prep" and c.lower_ == "into"):
        for obj in (c for c in prep.children if c.dep_ in ("pobj", "pcomp")):
            clause.add(Predicate.LIKES, phrase(obj, drop=("npadvmod",)), "fan_or_favorite")


def _noun_attribute(clause: Clause, attr: Token) -> None:
    lemma = attr.lemma_.lower()
    if lemma in OCCUPATIONS:
        clause.add(Predicate.WORKS_AS, phrase(attr, drop_preps=True), "occupation_noun")
    elif lemma not in NOT_PERSONA_NOUNS and attr.pos_ == "NOUN" and any(
        c.dep_ == "det" and c.lower_ in ("a", "an") for c in attr.children
    ) and not any(c.dep_ == "prep" and c.lower_ == "of" for c in attr.children):
        # "a mix of", "a member of": the noun is a container, not what the person is.
        clause.add(Predicate.IS, phrase(attr, drop_preps=True), "persona")


def _years_old(old: Token) -> str | None:
    for child in old.children:
        if child.lemma_.lower() == "year":
            num = next((c for c in child.children if c.like_num), None)
            if num is not None:
                return num.text
    return None


def _work_rules(clause: Clause) -> None:
    head = clause.head
    for obj in prep_objects(head, {"at", "for"}):
        if obj.ent_type_ in ("DATE", "TIME") or obj.lower_ == "while":
            continue  # "working for a while", "working at night"
        if obj.head.lower_ == "for" and obj.pos_ != "PROPN":
            continue  # "work for the money": only a named employer is an employer
        clause.add(Predicate.WORKS_AT, phrase(obj, drop_preps=True), "explicit")
    for obj in prep_objects(head, {"as"}):
        clause.add(Predicate.WORKS_AS, phrase(obj, drop_preps=True), "explicit")


def _place_rule(clause: Clause, predicate: Predicate, preps: set[str], rule: str) -> None:
    for obj in prep_objects(clause.head, preps):
        if obj.ent_type_ in ("DATE", "TIME") or obj.like_num:
            continue  # "born in 1990" is a date, not a place
        clause.add(predicate, place(obj), rule)


def _preference_rules(clause: Clause, lemma: str) -> None:
    head = clause.head
    if lemma == "prefer":
        predicate = Predicate.PREFERS
    else:
        predicate = Predicate.LIKES if lemma in LIKE_VERBS else Predicate.DISLIKES
    for obj in objects(head, "dobj", "xcomp", "ccomp"):
        if obj.dep_ == "ccomp" and (subject_of(obj) is not None or obj.pos_ == "AUX"):
            continue  # "I love that you called": a clause, not a thing liked
        text = verb_phrase(obj) if obj.pos_ in ("VERB", "AUX") and obj.tag_ != "VBG" else phrase(
            obj, drop_preps=predicate is Predicate.PREFERS
        )
        if any(c.dep_ == "det" and c.lower_ in DEICTIC for c in obj.children):
            continue  # "I love this song": what "this" is lives outside the sentence
        clause.add(predicate, text, "explicit")


def _possession_rules(clause: Clause, lemma: str) -> None:
    for obj in objects(clause.head, "dobj"):
        noun = obj.lemma_.lower()
        if noun in PETS:
            clause.add(Predicate.HAS_PET, phrase(obj), "explicit")
        elif noun in CHILDREN:
            clause.add(Predicate.HAS_CHILD, phrase(obj), "explicit")
        elif noun in SIBLINGS:
            clause.add(Predicate.HAS_SIBLING, phrase(obj), "explicit")
        elif lemma == "own":
            clause.add(Predicate.OWNS, phrase(obj), "explicit")


def _has_xcomp(head: Token) -> bool:
    return any(c.dep_ == "xcomp" for c in head.children)
