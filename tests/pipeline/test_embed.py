import numpy as np
import orjson
import pyarrow as pa

from pipeline.embed import embed_batch, embed_stored, reembed_batch
from pipeline.parse import parse_batch
from pipeline.write_plan import vectors_of
from tests.builders import CUBE, draft, intake_batch


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


def test_the_second_pass_embeds_only_rows_that_still_lack_a_vector(encoder, count_tokens):
    first = embed_batch(parse_batch(intake_batch([("add", draft("a", "Alice drinks green tea"))]), count_tokens),
                        encoder)
    summary = {**first.to_pylist()[0], "id": "summary-ep", "content": "Episode summary: deployed the api",
               "index_text": "Episode summary: deployed the api", "vector": None}
    batch = pa.Table.from_pylist([first.to_pylist()[0], summary], schema=first.schema).to_batches()[0]
    out = embed_batch(batch, encoder)
    before, after = vectors_of(batch), vectors_of(out)
    assert np.array_equal(after[0], before[0])  # kept, not recomputed
    assert np.allclose(after[1], encoder.encode(["Episode summary: deployed the api"])[0], atol=1e-5)
    assert embed_batch(out, encoder) is out  # nothing missing: the batch passes untouched


def test_rows_an_import_carries_a_vector_for_keep_it_unit_length(encoder, count_tokens):
    batch = parse_batch(intake_batch([("add", draft("a", "Alice drinks green tea")),
                                      ("add", draft("b", "Bob drinks coffee"))]), count_tokens)
    carried = np.zeros(encoder.dim, dtype=np.float32)
    carried[0] = 3.0
    a, b = vectors_of(embed_batch(batch, encoder, {"a": carried}))
    assert a[0] == 1.0 and np.count_nonzero(a) == 1
    assert np.allclose(b, encoder.encode(["Bob drinks coffee"])[0], atol=1e-5)


def test_a_closing_episode_gets_its_task_vector_in_its_attrs(encoder, count_tokens):
    close = {"id": "ep-1", "cube": CUBE, "agent": "alice", "action": "close", "outcome": "success",
             "task": "Deploy the api service with tag v1", "at": 5}
    out = embed_batch(parse_batch(intake_batch([("episode", close)]), count_tokens), encoder)
    attrs = orjson.loads(out["attrs"][0].as_py())
    assert attrs["outcome"] == "success" and out["vector"][0].as_py() is None
    assert np.allclose(attrs["task_vector"], encoder.encode(["Deploy the api service with tag v1"])[0], atol=1e-5)


def test_a_reindex_batch_gets_a_fresh_vector_per_stored_row(encoder):
    out = embed_stored(reembed_batch(CUBE, [("m1", "orchid watering"), ("m2", "ferry tickets")]), encoder)
    assert out["id"].to_pylist() == ["m1", "m2"]
    assert np.allclose(vectors_of(out)[1], encoder.encode(["ferry tickets"])[0], atol=1e-5)
