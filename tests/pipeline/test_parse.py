import pyarrow as pa

from pipeline.parse import content_hash, parse_batch, render_index_text
from pipeline.records import PARSED_SCHEMA
from tests.builders import draft, intake_batch


def test_parse_turns_drafts_into_typed_rows(count_tokens):
    batch = intake_batch(
        [
            ("add", draft("m1", "I went hiking  yesterday", kind="message", tags=["trip"],
                          metadata={"speaker": "Caroline"}, created_at=1_000)),
            ("delete", draft("m2", "ignored")),
        ]
    )
    out = parse_batch(batch, count_tokens)
    assert out.schema == PARSED_SCHEMA
    first, second = out.to_pylist()
    assert first["id"] == "m1" and first["kind"] == "message" and first["tags"] == ["trip"]
    assert first["index_text"] == "Caroline: I went hiking  yesterday"
    assert first["tokens"] == count_tokens(["Caroline: I went hiking  yesterday"])[0] > 0
    assert first["created_at"] == 1_000 and first["reembed"] is True and first["error"] is None
    assert second["op"] == "delete" and second["content"] is None and second["tokens"] == 0


def test_unreadable_draft_becomes_an_error_row_not_an_exception(count_tokens):
    batch = intake_batch([("add", draft("m1", "fine"))])
    broken = batch.set_column(5, "payload", pa.array([b"{not json"], pa.binary()))
    (row,) = parse_batch(broken, count_tokens).to_pylist()
    assert row["id"] == "m1"
    assert row["error"].startswith("unparseable draft")


def test_a_draft_whose_id_disagrees_with_its_intake_row_is_refused(count_tokens):
    batch = intake_batch([("add", draft("m1", "text"))])
    batch = batch.set_column(4, "memory_id", pa.array(["other"]))
    (row,) = parse_batch(batch, count_tokens).to_pylist()
    assert "does not match" in row["error"]


def test_hash_ignores_whitespace_and_case_but_not_speaker_or_kind():
    base = content_hash("message", "Yes, see you  at 5", {"speaker": "A"})
    assert content_hash("message", "yes, see you at 5 ", {"speaker": "A"}) == base
    assert content_hash("message", "Yes, see you at 5", {"speaker": "B"}) != base
    assert content_hash("note", "Yes, see you at 5", {"speaker": "A"}) != base


def test_index_text_carries_speaker_and_image_caption():
    assert render_index_text("message", "look!", {"speaker": "Mel", "caption": "a dog on a beach"}) == (
        "Mel: look! [image: a dog on a beach]"
    )
    assert render_index_text("note", "plain", {}) == "plain"
