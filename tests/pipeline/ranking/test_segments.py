"""Long queries: segments (latest weighted most) and their fusion, which is plain fusion for one segment."""

from __future__ import annotations

from pipeline.query_segments import MAX_SEGMENTS, segments
from pipeline.ranking.config import RankingConfig
from pipeline.ranking.fusion import fuse, fuse_segments


def test_a_short_question_is_one_segment_of_full_weight():
    assert [(s.text, s.weight) for s in segments("What does alice drink?")] == [("What does alice drink?", 1.0)]


def test_lines_and_long_sentences_become_segments_the_latest_weighted_most():
    query = "Bo: we went hiking. It rained all day long.\nAnn: sounds wet.\nWhat does alice drink?"
    parts = segments(query, max_words=5, decay=0.5)
    assert [p.text for p in parts] == ["Bo: we went hiking.", "It rained all day long.", "Ann: sounds wet.",
                                       "What does alice drink?"]
    assert [p.weight for p in parts] == [0.125, 0.25, 0.5, 1.0]


def test_only_the_latest_segments_are_kept():
    query = "\n".join(f"line {i} of the chat" for i in range(20)) + "\nthe question"
    parts = segments(query, max_words=48)
    assert len(parts) == MAX_SEGMENTS and parts[-1].text == "the question" and parts[0].text == "line 13 of the chat"


def test_one_segment_fuses_exactly_as_plain_fusion():
    bm25 = [("a", 9.0), ("b", 5.0), ("c", 1.0)]
    vector = [("c", 0.9), ("a", 0.5), ("d", 0.4)]
    config = RankingConfig()
    plain = fuse(bm25, vector, config)
    seg = fuse_segments([(bm25, 1.0)], [(vector, 1.0)], config)
    assert [(f.key, round(f.score, 9), f.bm25_rank, f.vector_rank) for f in plain] == \
        [(f.key, round(f.score, 9), f.bm25_rank, f.vector_rank) for f in seg]


def test_a_heavier_segment_decides_and_why_shows_the_best_rank():
    config = RankingConfig(vector_weight=0.0)
    filler = [("chat", 5.0), ("answer", 1.0)]
    question = [("answer", 7.0)]
    fused = fuse_segments([(filler, 0.25), (question, 1.0)], [], config)
    assert fused[0].key == "answer" and fused[0].bm25_rank == 1 and fused[0].bm25 == 7.0
    # A channel of weight 0 adds nothing to the score.
    assert fuse_segments([], [([("x", 1.0)], 1.0)], config)[0].score == 0.0


def test_relative_fusion_counts_score_gaps_that_rank_fusion_ignores():
    bm25 = [("a", 10.0), ("b", 9.9), ("c", 1.0)]
    vector = [("c", 0.9), ("b", 0.5), ("a", 0.1)]
    by_rank = fuse_segments([(bm25, 1.0)], [(vector, 1.0)], RankingConfig(vector_weight=1.0))
    by_score = fuse_segments([(bm25, 1.0)], [(vector, 1.0)], RankingConfig(vector_weight=1.0, fusion="relative"))
    assert by_rank[0].key == "a"  # ranks 1 and 3 beat 2 and 2
    # Scaled within each list: b = 8.9/9 + 0.5 beats a = 1 + 0 and c = 0 + 1.
    assert by_score[0].key == "b" and round(by_score[0].score, 4) == round(8.9 / 9 + 0.5, 4)
