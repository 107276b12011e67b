"""Ranking settings: bad values are refused, a request's overrides replace only what they name."""

import pytest

from pipeline.ranking.config import RankingConfig, with_overrides


def test_bad_ranking_values_are_refused():
    for bad in ({"channels": ()}, {"rrf_k": 0}, {"vector_weight": -1}, {"mmr_lambda": 1.5},
                {"recency_half_life_days": 0}):
        with pytest.raises(ValueError):
            RankingConfig(**bad)


def test_overrides_replace_only_the_fields_they_name():
    server = RankingConfig(rrf_k=20, vector_weight=0.5)
    assert with_overrides(server, {"rrf_k": 60, "mmr_lambda": 0.7}) == RankingConfig(
        rrf_k=60, vector_weight=0.5, mmr_lambda=0.7)
    assert with_overrides(server, {}) is server


def test_a_channel_named_twice_counts_once():
    assert with_overrides(RankingConfig(), {"channels": ["vector", "bm25", "vector"]}).channels == ("vector", "bm25")


def test_the_lexical_index_gets_no_content_boost_without_context():
    assert RankingConfig(content_boost=0.45).bm25_content_boost == 0.45
    assert RankingConfig(content_boost=0.45, context=False).bm25_content_boost is None
