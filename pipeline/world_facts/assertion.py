"""Whether a sentence or clause asserts a present fact.

Questions, conditionals, modal or future clauses and past tense assert none; negation keeps the
fact and flips its polarity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.world_facts.lexicon import CONDITIONAL_MARKS, HYPOTHETICAL_AUX, PAST_OK, WH_WORDS

if TYPE_CHECKING:  # spaCy is imported only by the loader, so importing this module stays cheap
    from spacy.tokens import Token


def is_question(sent: Any) -> bool:
    tokens = [t for t in sent if not t.is_punct and not t.is_space]
    if sent.text.strip().endswith("?") or not tokens:
        return True
    if len(tokens) < 2:
        return False
    first, second = tokens[0], tokens[1]
    # "how do I ...", "do you ...", "can I ...": a question even without its question mark.
    if first.lower_ in WH_WORDS and second.pos_ == "AUX":
        return True
    return first.pos_ == "AUX" and second.dep_ in ("nsubj", "nsubjpass", "expl")


def is_negated(head: Token) -> bool:
    for child in head.children:
        if child.dep_ == "neg" or child.lower_ == "never":
            return True
        # "no longer" parses as neg(no) under advmod(longer).
        if child.lower_ == "longer" and any(g.dep_ == "neg" for g in child.children):
            return True
    return False


def is_hypothetical(head: Token) -> bool:
    auxes = [c for c in head.children if c.dep_ in ("aux", "auxpass")]
    if head.dep_ == "conj" and not auxes:
        # "I'll think about it and maybe get pets": the second verb shares the first one's modal.
        auxes = [c for c in head.head.children if c.dep_ in ("aux", "auxpass")]
    if any(a.lemma_.lower() in HYPOTHETICAL_AUX for a in auxes):
        # "I'd rather X" states a preference; "I can't stand X" a dislike.
        rather = any(c.lower_ == "rather" for c in head.children)
        cant_stand = head.lemma_ == "stand" and is_negated(head)
        if not (rather or cant_stand):
            return True
    node = head
    while True:
        if any(c.dep_ == "mark" and c.lower_ in CONDITIONAL_MARKS for c in node.children):
            return True
        if node.head.i == node.i:
            return False
        node = node.head


def is_past(head: Token) -> bool:
    if head.lemma_.lower() in PAST_OK:
        return False
    # "I lived", "I was a nurse", "I was living", "I had worked", "I didn't like": the verb or
    # one of its auxiliaries is in the past.
    return head.tag_ == "VBD" or any(c.dep_ in ("aux", "auxpass") and c.tag_ == "VBD" for c in head.children)
