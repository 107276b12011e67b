"""Phrase text from a dependency parse: a clause's objects and the words that name them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.world_facts.lexicon import DETERMINERS, DROP_WORDS, PLACE_ENTS

if TYPE_CHECKING:  # spaCy is imported only by the loader, so importing this module stays cheap
    from spacy.tokens import Token


def objects(head: Token, *deps: str) -> list[Token]:
    """Children with one of `deps`, each followed by its conjuncts ("jazz and blues").

    A pronoun object ("it", "which", "them") is dropped: what it stands for is not in the clause.
    """
    found: list[Token] = []
    for child in head.children:
        if child.dep_ in deps and child.pos_ != "PRON":
            found.append(child)
            found.extend(c for c in child.conjuncts if c.i > child.i and c.dep_ == "conj")
    return found


def prep_objects(head: Token, preps: set[str]) -> list[Token]:
    found: list[Token] = []
    for prep in head.children:
        if prep.dep_ == "prep" and prep.lower_ in preps:
            found.extend(objects(prep, "pobj", "pcomp"))
    return found


def place(obj: Token) -> str:
    """The named place inside a location phrase ("a flat in Leeds" → "Leeds") when there is one."""
    for token in obj.subtree:
        if token.ent_type_ in PLACE_ENTS and token.ent_iob_ == "B":
            ent = next(e for e in token.doc.ents if e.start == token.i)
            return ent.text
    return phrase(obj)


def _collect(token: Token, drop: tuple[str, ...], drop_preps: bool, top: bool) -> list[Token]:
    tokens = [token]
    for child in token.children:
        if child.dep_ in drop or child.lower_ in DROP_WORDS:
            continue
        if drop_preps and child.dep_ == "prep" and child.lower_ != "of":
            continue
        if top and child.dep_ in ("conj", "cc"):
            continue
        tokens.extend(_collect(child, drop, drop_preps, top=False))
    return tokens


def phrase(token: Token, drop_preps: bool = False, drop: tuple[str, ...] = ()) -> str:
    """The text of a token's phrase without leading determiners, trailing clauses or punctuation."""
    removed = ("punct", "appos", "relcl", "advcl", "cc", "mark", "npadvmod", "aux") + drop
    tokens = sorted(_collect(token, removed, drop_preps, top=True), key=lambda t: t.i)
    while tokens and tokens[0].lower_ in DETERMINERS:
        tokens = tokens[1:]
    return _join(tokens)


def verb_phrase(verb: Token) -> str:
    """A verb with its objects and modifiers, without its subject, "to" or auxiliaries."""
    removed = ("punct", "nsubj", "aux", "auxpass", "neg", "mark", "advcl", "cc", "conj")
    tokens = [verb]
    for child in verb.children:
        if child.dep_ in removed or child.lower_ in DROP_WORDS or child.lower_ == "rather":
            continue
        tokens.extend(child.subtree)
    return _join(sorted(tokens, key=lambda t: t.i))


def _join(tokens: list[Token]) -> str:
    parts: list[str] = []
    for k, token in enumerate(tokens):
        adjacent = k + 1 < len(tokens) and tokens[k + 1].i == token.i + 1
        parts.append(token.text_with_ws if adjacent else token.text + " ")
    return "".join(parts).strip()
