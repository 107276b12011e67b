"""The boundary's bounds (pipeline/input_bounds.py) and the time range (pipeline/timefmt.py), without a server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.errors import Invalid, MalformedRequest
from pipeline.input_bounds import JSON_INT_MAX, JSON_INT_MIN, MAX_JSON_DEPTH, TIME_PATTERN, parse_json_body, parse_time
from pipeline.timefmt import MAX_MS, MIN_MS, TimeOutOfRange, to_iso, to_ms


def test_an_ordinary_body_parses_as_json_does():
    assert parse_json_body(b'{"content": "caf\\u00e9 \xe2\x98\x95", "n": 5, "f": 1.5, "ok": true, "none": null}') == {
        "content": "café ☕", "n": 5, "f": 1.5, "ok": True, "none": None}


@pytest.mark.parametrize("raw,error", [
    (b'{"a": "\xff"}', MalformedRequest),
    (b'{"a": "\xed\xa0\x80"}', MalformedRequest),  # a surrogate spelled in UTF-8
    (b'{"a": "\\ud800"}', MalformedRequest),
    (b'{"\\udc00": 1}', MalformedRequest),
    (b'{"a": NaN}', MalformedRequest),
    (b'{"a": Infinity}', MalformedRequest),
    (b'{"a": ', MalformedRequest),
    (b'{"a": 9007199254740992}', Invalid),
    (b'{"a": -9007199254740992}', Invalid),
    (b'{"a": 1' + b"0" * 5000 + b"}", Invalid),  # refused before int() reads 5,000 digits
    (b'{"a": 1e400}', Invalid),
    (b'{"a": 1e16}', Invalid),
])
def test_what_the_stores_cannot_hold_is_refused_at_parse(raw, error):
    with pytest.raises(error):
        parse_json_body(raw)


def test_the_integer_bounds_themselves_are_accepted():
    assert parse_json_body(f'[{JSON_INT_MAX}, {JSON_INT_MIN}, 9.0e15]'.encode()) == [JSON_INT_MAX, JSON_INT_MIN, 9e15]


def test_a_valid_surrogate_pair_is_one_character_not_a_refusal():
    assert parse_json_body(b'{"a": "\\ud83d\\ude00"}') == {"a": "😀"}


def test_depth_is_counted_from_the_body_itself():
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json_body(at_limit.encode()) is not None
    with pytest.raises(MalformedRequest, match="nested deeper than 64"):
        parse_json_body(("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode())
    with pytest.raises(MalformedRequest, match="nested deeper than 64"):
        parse_json_body(("[" * 5000 + "]" * 5000).encode())  # past the parser's own recursion


def test_many_brackets_side_by_side_are_not_depth():
    assert len(parse_json_body(("[" + ",".join(["[]"] * 500) + "]").encode())) == 500


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+00:01",
                                   "0001-01-01T12:00:00Z", "9999-12-31T00:00:00Z", "2026-01-01T10:00:00",
                                   "2026-01-01 10:00:00Z", "2026-02-30T10:00:00Z", "2026-01-01T24:00:00Z",
                                   "2026-01-01T10:00:60Z", "1700000000", "2026-01-01t10:00:00z"])
def test_times_outside_the_rule_are_refused(value):
    with pytest.raises(ValueError):
        parse_time(value)


def test_the_pattern_keeps_every_offset_inside_years_1_to_9999():
    for text in ("0001-01-02T00:00:00+23:59", "9999-12-30T23:59:59.999999999-23:59", "2024-02-29T12:00:00.5Z"):
        assert re.fullmatch(TIME_PATTERN, text)
        assert MIN_MS <= to_ms(parse_time(text)) <= MAX_MS


def test_to_ms_and_to_iso_refuse_what_cannot_be_shown_and_round_trip_the_ends_exactly():
    assert to_iso(MIN_MS) == "0001-01-01T00:00:00.000Z" and to_iso(MAX_MS) == "9999-12-31T23:59:59.999Z"
    assert to_ms(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)) == MAX_MS
    with pytest.raises(TimeOutOfRange):
        to_ms(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))
    for bad in (MAX_MS + 1, MIN_MS - 1, "253402300800000", None, 1.5):
        with pytest.raises(TimeOutOfRange):
            to_iso(bad)  # type: ignore[arg-type]
