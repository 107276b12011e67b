import numpy as np

from pipeline.embed import embed_batch
from pipeline.parse import parse_batch
from pipeline.write_plan import vectors_of
from tests.builders import draft, intake_batch


def test_embed_adds_unit_vectors_only_where_text_is_new(encoder, count_tokens):
    batch = parse_batch(
        intake_batch(
            [
                ("add", draft("a", "Alice drinks green tea every morning")),
                ("delete", draft("b", "gone")),
                ("update", draft("c", "same text, new tags", reembed=False, base_version=1)),
                ("update", draft("d", "Bob now drinks coffee", reembed=True, base_version=1)),
            ]
        ),
        count_tokens,
    )
    out = embed_batch(batch, encoder)
    vectors = vectors_of(out)
    assert [v is not None for v in vectors] == [True, False, False, True]
    assert np.allclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5)
    # The stage embeds the row's index text with the same model a query uses.
    expected = encoder.encode(["Alice drinks green tea every morning"])[0]
    assert np.allclose(vectors[0], expected, atol=1e-5)


def test_a_batch_of_only_deletes_needs_no_model_call(encoder, count_tokens):
    batch = parse_batch(intake_batch([("delete", draft("b", "x"))]), count_tokens)
    out = embed_batch(batch, encoder)
    assert out["vector"].null_count == 1
