"""pipeline/interchange/model.py: the v1 object model, its JSON Schema, and the versioning rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.interchange.model import (
    LineError, VersionRefused, check_version, iso, json_schema, to_ms, validate_line,
)

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "docs" / "interchange" / "v1.schema.json"


def trace(**extra) -> dict:
    return {"object": "memory", "id": "m1", "tier": "trace", "content": "hello", "temporal": {"created_at": iso(5)},
            **extra}


def test_the_published_schema_is_the_one_the_model_generates():
    """Regenerate with `python -m pipeline.interchange.model > docs/interchange/v1.schema.json`."""
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()


@pytest.mark.parametrize("ms", [0, 1, 999, 1_700_000_000_123, -5, 253_402_300_799_999, 1_718_999_999_999])
def test_times_go_to_iso_and_back_to_the_same_millisecond(ms):
    assert to_ms(iso(ms)) == ms


def test_a_time_with_an_offset_or_without_a_zone_is_read_as_its_instant():
    assert to_ms("2024-06-01T12:00:00+02:00") == to_ms("2024-06-01T10:00:00Z") == to_ms("2024-06-01T10:00:00")


@pytest.mark.parametrize("data, where", [
    (trace(temporal={"created_at": "yesterday"}), "line 7: temporal.created_at"),
    (trace(content=""), "line 7: content"),
    (trace(tier="cloud"), "line 7: tier"),
    (trace(id="bad id with spaces"), "line 7: id"),
    (trace(surprise=True), "line 7: surprise"),
    ({"object": "nothing"}, "line 7: object"),
    (["not", "an", "object"], "line 7: expected a JSON object"),
    ({"object": "memory", "id": "f", "tier": "world", "content": "x", "temporal": {"created_at": iso(1)},
      "metadata": {"subject": "A", "predicate": "flies", "object": "B", "polarity": True, "confidence": 1,
                   "valid_from": 1}}, "line 7: metadata.predicate"),
])
def test_an_invalid_object_is_named_by_its_line_and_field(data, where):
    with pytest.raises(LineError) as caught:
        validate_line(data, 7)
    assert str(caught.value).startswith(where)


def test_a_newer_minor_version_is_read_without_the_fields_it_added():
    assert check_version("1.0") is False
    assert check_version("1.7") is True
    newer = trace(mood="calm", temporal={"created_at": iso(5), "decay": "fast"})
    with pytest.raises(LineError):
        validate_line(newer, 1)
    read = validate_line(newer, 1, lenient=True)
    assert read.model_dump(exclude_unset=True) == {"object": "memory", "id": "m1", "tier": "trace", "content": "hello",
                                                   "temporal": {"created_at": iso(5)}}


def test_a_newer_major_version_is_refused_saying_what_this_reads():
    with pytest.raises(VersionRefused, match=r"memos-interchange 2\.0; this server reads 1\.x only"):
        check_version("2.0")
    with pytest.raises(VersionRefused):
        check_version("one")


def test_a_fact_and_a_skill_keep_metadata_fields_this_version_does_not_know():
    fact = {"object": "memory", "id": "f", "tier": "world", "content": "A likes B.", "temporal": {"created_at": iso(1)},
            "metadata": {"subject": "A", "predicate": "likes", "object": "B", "polarity": True, "confidence": 0.9,
                         "valid_from": 1, "from_the_future": [1, 2]}}
    assert validate_line(fact, 1).metadata.model_dump()["from_the_future"] == [1, 2]
