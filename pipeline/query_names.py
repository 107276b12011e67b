"""Who a query is about: whether it names the person a memory is by or about, so that what they said
ranks higher ("Where has Melanie camped?" is answered in Melanie's own turns, rarely in what others
said to her). A boost, never a filter: the other side of an exchange still holds answers.

A memory's person is a message's speaker (metadata `speaker`, else `role`) or a world fact's subject.
A name counts when the query holds it as whole words in any case; a possessive ("Melanie's") counts.

A speaker the query names is also left out of the text that is searched (`without_names`): in a
cube where every turn is someone's, a name in the query makes the query's vector mostly about
the person and little about what is asked ("Where has Melanie camped?" near every one of Melanie's
turns); the boost ranks their turns instead. Which words are names is the cube's to say: the
query's short word runs (`name_candidates`) are looked up among the cube's speakers, by index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.parse import speaker_of
from pipeline.records import MemoryRecord, Tier

NAME_WORDS = 3  # the longest name looked up, in words ("Mary Ann Lee")
_WORD = re.compile(r"\w+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _whole_words(name: str) -> str:
    """A pattern for these words as whole words, any spacing between them."""
    return r"(?<!\w)" + r"\s+".join(map(re.escape, name.split()))


def person_of(record: MemoryRecord) -> str | None:
    """The person a memory is by (a trace's speaker) or about (a world fact's subject)."""
    metadata = record.metadata or {}
    if record.tier == Tier.WORLD.value:
        subject = metadata.get("subject")
        return subject.strip() or None if isinstance(subject, str) else None
    return speaker_of(metadata)


class NamedIn:
    """Whether one query names a person; each distinct name is looked up once per query."""

    def __init__(self, query: str) -> None:
        self._text = query.casefold()
        self._seen: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        key = " ".join(name.casefold().split())
        if key not in self._seen:
            self._seen[key] = bool(key) and re.search(rf"{_whole_words(key)}(?!\w)", self._text) is not None
        return self._seen[key]


def ascii_lower(text: str) -> str:
    """Lowercase as SQLite's lower() does (ASCII letters only), so a name matches its index key."""
    return text.translate(_ASCII_LOWER)


def name_candidates(query: str) -> list[str]:
    """The runs of one to NAME_WORDS words of a query, lowercased, each once: what may be a name."""
    words = [ascii_lower(w) for w in _WORD.findall(query)]
    runs = (" ".join(words[i:i + n]) for n in range(1, NAME_WORDS + 1) for i in range(len(words) - n + 1))
    return list(dict.fromkeys(runs))


def without_names(text: str, names: Iterable[str]) -> str:
    """The text without these names (whole words, any case, with a possessive 's); the text itself
    when nothing else would be left to search."""
    out = text
    for name in sorted(names, key=len, reverse=True):  # "Mary Ann" before "Mary"
        out = re.sub(rf"{_whole_words(name)}(?:'s|’s)?(?!\w)", " ", out, flags=re.IGNORECASE)
    out = " ".join(out.split())
    return out if _WORD.search(out) else text
