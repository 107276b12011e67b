"""The bounds every client value keeps at the boundary, so that nothing accepted can break a store.

One parse of a JSON body (`parse_json_body`) used by the accept fast path and by every route
(api/json_route.py), so both answer the same body the same way, and the bounds the OpenAPI
states (api/schemas.py) come from the constants here:

- the body is UTF-8 and JSON (RFC 8259: no NaN or Infinity), nested at most `MAX_JSON_DEPTH`
  levels, and holds no lone surrogate (the stores hold UTF-8, and orjson refuses to write one);
- every number lies within ±(2**53 - 1): inside the 64-bit integers SQLite and orjson hold, and
  the integers every JSON parser reads exactly (RFC 7493, I-JSON). The 64-bit range itself cannot
  be stated: schema validators compare numbers as doubles, so 2**63 + 191 "is" 2**63 - 1 to them.
  A float past the bound is refused too, so the schema's one `minimum`/`maximum` says it whole;
- times match `TIME_PATTERN`: RFC 3339 with a zone, in years 1-9999, the first and last day
  excepted so that no offset takes one outside years 1-9999 in UTC (pipeline/timefmt.py).

Before issue 13 each of these reached a store and failed there (a 500 after nothing was written,
or a write accepted that broke every later read of its cube).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import orjson

from pipeline.errors import Invalid, MalformedRequest
from pipeline.timefmt import to_ms

JSON_INT_MIN, JSON_INT_MAX = -(2**53 - 1), 2**53 - 1
MAX_JSON_DEPTH = 64  # a body's objects and arrays, the body itself counted; orjson writes at most 254

# RFC 3339 date-time, spelled out so that a pattern can say which dates are representable.
_MONTH = "(?:0[1-9]|1[0-2])"
_DAY = "(?:0[1-9]|[12][0-9]|3[01])"
_YEAR_2_TO_9998 = "(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_DATE = (
    f"(?:{_YEAR_2_TO_9998}-{_MONTH}-{_DAY}"
    f"|0001-(?:01-(?:0[2-9]|[12][0-9]|3[01])|(?:0[2-9]|1[0-2])-{_DAY})"  # not 0001-01-01
    f"|9999-(?:12-(?:0[1-9]|[12][0-9]|30)|(?:0[1-9]|1[01])-{_DAY}))"  # not 9999-12-31
)
_CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]{1,9})?"
_ZONE = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIME_PATTERN = f"^{_DATE}T{_CLOCK}{_ZONE}$"
TIME_RULE = ("an RFC 3339 time with a zone, such as 2026-01-31T09:30:00Z, from 0001-01-02 to 9999-12-30 "
             "(the first and last representable days are left out so that no offset leaves years 1-9999 in UTC)")
_TIME = re.compile(TIME_PATTERN)


def parse_time(value: str) -> datetime:
    """A client's time, checked against `TIME_PATTERN`; ValueError names the rule."""
    if not _TIME.fullmatch(value):
        raise ValueError(f"a time must be {TIME_RULE}")
    parsed = datetime.fromisoformat(value)  # a day past its month's end (02-30) raises ValueError here
    to_ms(parsed)  # the pattern keeps it representable; this keeps the pattern honest
    return parsed


def check_int(literal: str) -> int:
    """A JSON integer literal within the bound (its length checked before int(): 10**5000 is slow)."""
    if len(literal.lstrip("-")) > 16 or not JSON_INT_MIN <= (value := int(literal)) <= JSON_INT_MAX:
        raise Invalid(f"the number {literal[:40]} is outside {JSON_INT_MIN}..{JSON_INT_MAX}, the integers every "
                      "JSON reader and every store keeps exactly (send larger ones as strings)")
    return value


def _float(literal: str) -> float:
    value = float(literal)
    if not JSON_INT_MIN <= value <= JSON_INT_MAX:  # also inf, from 1e400
        raise Invalid(f"the number {literal[:40]} is outside {JSON_INT_MIN}..{JSON_INT_MAX} (send larger ones as strings)")
    return value


def _constant(literal: str) -> Any:
    raise MalformedRequest(f"the body is not valid JSON: {literal} is not a JSON number")


_LONG_NUMBER = re.compile(rb"[0-9]{16}|[0-9][eE]")
# One decoder, made once: json.loads with hooks builds a new one (and its C scanner) on every call.
_DECODER = json.JSONDecoder(parse_int=check_int, parse_float=_float, parse_constant=_constant)


def parse_json_body(raw: bytes) -> Any:
    """The body as a JSON value within the bounds above, else MalformedRequest (400) or Invalid (422)."""
    try:
        value = orjson.loads(raw)  # the usual body: fast, and it refuses what the slow path explains
    except orjson.JSONDecodeError:
        return _parse_slowly(raw)
    # orjson took it, so it is UTF-8 and holds no lone surrogate, NaN or 1,025 levels. What is left
    # is checked only when the text could hold it: 16 digits in a row or an exponent for a number
    # past ±(2**53 - 1) (orjson reads a literal past 64 bits as a float, refused the same), and more
    # brackets than MAX_JSON_DEPTH for depth.
    deep = raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH
    numbers = _LONG_NUMBER.search(raw) is not None
    if deep or numbers:
        _walk(value, deep=deep, numbers=numbers, strings=False)
    return value


def _parse_slowly(raw: bytes) -> Any:
    """The same parse with the standard library, which names exactly what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"the body is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise MalformedRequest(f"the body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    _walk(value, deep=True, numbers=False, strings="\\u" in text)  # the hooks checked the numbers
    return value


def _walk(value: Any, *, deep: bool, numbers: bool, strings: bool) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if deep and depth > MAX_JSON_DEPTH:
                raise MalformedRequest(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
            for key, item in node.items():
                if strings:
                    _well_formed(key)
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            if deep and depth > MAX_JSON_DEPTH:
                raise MalformedRequest(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((item, depth + 1) for item in node)
        elif strings and isinstance(node, str):
            _well_formed(node)
        elif numbers and isinstance(node, (int, float)) and not isinstance(node, bool):
            if isinstance(node, int):
                check_int(str(node))
            else:
                _float(repr(node))


def _well_formed(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedRequest(
            f"the body holds a lone surrogate (\\u{ord(text[exc.start]):04x}), which is not a Unicode character"
        ) from None
