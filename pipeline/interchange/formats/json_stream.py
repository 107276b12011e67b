"""Reading a big JSON document one element at a time: the items of a top-level array, or of arrays
inside a top-level object (ChatGPT's and Claude's `conversations.json`, MemOS's export bundle).

Memory stays at one element plus one read buffer, however large the file. Each element is parsed
by the standard library's C decoder straight out of the buffer (`raw_decode`); when the buffer
ends inside the element, more is read and the element parsed again, the buffer at least doubling
each time, so a big element costs linear time. A malformed element is reported with the
character offset it starts at.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

CHUNK = 1 << 20
MAX_ELEMENT = 256 << 20  # characters: past this a parse failure is reported, not read further
_WS = " \t\r\n"
_AFTER = frozenset(_WS + ",]}:")  # what may follow a whole value
_DECODER = json.JSONDecoder()


class JsonStreamError(ValueError):
    """The document is not the JSON it should be; `offset` is the character where the problem starts."""

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(f"character {offset}: {problem}")
        self.offset = offset
        self.problem = problem


@dataclass(frozen=True)
class Member:
    """One value of a top-level object: the whole value, or (`index` set) one item of a streamed array."""

    key: str
    value: Any
    index: int | None = None


class _Scanner:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._pos = 0
        self._base = 0  # document offset of _text[0]
        self._eof = False
        self._fill()
        if self._text.startswith("\ufeff"):
            self._pos = 1

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._stream.read(CHUNK)
        try:
            if not chunk:
                self._text += self._utf8.decode(b"", final=True)
                self._eof = True
                return False
            self._text += self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise JsonStreamError(self._base + len(self._text), f"not UTF-8 ({exc.reason})") from exc
        return True

    def offset(self) -> int:
        return self._base + self._pos

    def peek(self) -> str | None:
        """The next character that is not white space (not consumed); None at the end."""
        while True:
            while self._pos < len(self._text) and self._text[self._pos] in _WS:
                self._pos += 1
            if self._pos < len(self._text):
                return self._text[self._pos]
            if not self._fill():
                return None

    def expect(self, char: str) -> None:
        got = self.peek()
        if got != char:
            found = "the end of the file" if got is None else repr(got)
            raise JsonStreamError(self.offset(), f"expected {char!r}, found {found}")
        self._pos += 1

    def value(self) -> Any:
        """The next whole JSON value, parsed."""
        if self._pos > CHUNK:  # drop what was consumed, so the buffer holds about one element
            self._text = self._text[self._pos:]
            self._base += self._pos
            self._pos = 0
        if self.peek() is None:
            raise JsonStreamError(self.offset(), "the file ends where a value should be")
        start = self._pos
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, start)
            except json.JSONDecodeError as exc:
                if not self._more(start):
                    raise JsonStreamError(self._base + start, self._problem(exc)) from None
                continue
            if (end == len(self._text) or self._text[end] not in _AFTER) and self._more(start):
                continue  # a number cut by the buffer's end ("3." of "3.5e2") parses too: read on and again
            self._pos = end
            return value

    def _problem(self, exc: json.JSONDecodeError) -> str:
        if not self._eof:
            return f"an element over {MAX_ELEMENT >> 20} Mi characters, or invalid JSON: {exc.msg}"
        if exc.pos >= len(self._text) - 1 or exc.msg.startswith("Unterminated"):
            return "the file ends inside this value (is it cut short?)"
        return f"invalid JSON: {exc.msg} at character {self._base + exc.pos}"

    def _more(self, start: int) -> bool:
        """Read until the buffer holds twice what the last parse saw; False at the end, or past the cap."""
        want = 2 * (len(self._text) - start)
        if want > MAX_ELEMENT:
            return False
        grew = False
        while len(self._text) - start < want and self._fill():
            grew = True
        return grew

    def items(self) -> Iterator[Any]:
        """The items of the array whose `[` is next."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            if self.peek() == ",":
                self._pos += 1
                continue
            self.expect("]")
            return


def array_items(stream: IO[bytes]) -> Iterator[Any]:
    """Each item of the top-level JSON array in `stream`."""
    scanner = _Scanner(stream)
    yield from scanner.items()
    if scanner.peek() is not None:
        raise JsonStreamError(scanner.offset(), "unexpected data after the array")


def object_members(stream: IO[bytes], streamed: frozenset[str]) -> Iterator[Member]:
    """Each member of the top-level JSON object in `stream`; arrays under the keys in `streamed`
    come one item at a time, the other values whole."""
    scanner = _Scanner(stream)
    scanner.expect("{")
    if scanner.peek() == "}":
        return
    while True:
        key = scanner.value()
        if not isinstance(key, str):
            raise JsonStreamError(scanner.offset(), "an object key must be a string")
        scanner.expect(":")
        if key in streamed and scanner.peek() == "[":
            for index, item in enumerate(scanner.items()):
                yield Member(key, item, index)
        else:
            yield Member(key, scanner.value())
        if scanner.peek() == ",":
            scanner._pos += 1
            continue
        scanner.expect("}")
        return
