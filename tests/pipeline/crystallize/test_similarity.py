"""How alike two tool sequences are."""

from pipeline.crystallize.similarity import sequence_similarity


def test_sequence_similarity_is_two_lcs_over_the_lengths():
    assert sequence_similarity(("a", "b", "c", "d"), ("a", "b", "c", "d")) == 1.0
    assert sequence_similarity(("a", "b", "c", "d"), ("a", "c", "d")) == 6 / 7
    assert sequence_similarity(("a", "b"), ("c",)) == 0.0
