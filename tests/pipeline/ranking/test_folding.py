"""Near duplicates fold into the original shown above them; anything else takes its own place."""

from pipeline.ranking.boosts import Boosted
from pipeline.ranking.folding import Folded, fold_near_duplicates
from pipeline.ranking.fusion import Fused
from pipeline.records import MemoryRecord


def candidates(*ids: str) -> list[Boosted]:
    """Candidates of cube c in rank order."""
    out = []
    for rank, memory_id in enumerate(ids):
        rec = MemoryRecord(id=memory_id, cube="c", agent="a", tier="trace", kind="note", content=memory_id, tags=[],
                           metadata={}, created_at=0, updated_at=0)
        out.append(Boosted(Fused(("c", memory_id), 1.0 - rank / 10), rec, {"feedback": 1.0}, 1.0))
    return out


def folded(ranked: list[Boosted], duplicate_of: dict[str, str], keep: int) -> list[tuple[str, list[str]]]:
    links = {("c", dup): ("c", original) for dup, original in duplicate_of.items()}
    return [(f.head.key[1], f.near_duplicates) for f in fold_near_duplicates(ranked, links, keep)]


def test_a_near_duplicate_below_its_original_folds_into_it_and_takes_no_place():
    ranked = candidates("a", "a2", "b", "a3")
    assert folded(ranked, {"a2": "a", "a3": "a"}, keep=10) == [("a", ["a2", "a3"]), ("b", [])]


def test_without_links_nothing_folds():
    assert folded(candidates("a", "a2"), {}, keep=10) == [("a", []), ("a2", [])]


def test_a_near_duplicate_ranked_above_its_original_stands_on_its_own():
    assert folded(candidates("a2", "a"), {"a2": "a"}, keep=10) == [("a2", []), ("a", [])]


def test_near_duplicates_still_fold_after_keep_results_are_taken():
    ranked = candidates("a", "b", "c", "a2", "b2")
    assert folded(ranked, {"a2": "a", "b2": "b"}, keep=2) == [("a", ["a2"]), ("b", ["b2"])]


def test_a_duplicate_of_a_folded_duplicate_stands_on_its_own():
    assert folded(candidates("a", "a2", "a3"), {"a2": "a", "a3": "a2"}, keep=10) == [("a", ["a2"]), ("a3", [])]


def test_a_duplicate_whose_original_is_not_a_candidate_stands_on_its_own():
    assert folded(candidates("x2", "y"), {"x2": "x"}, keep=10) == [("x2", []), ("y", [])]


def test_the_heads_are_the_candidates_themselves():
    ranked = candidates("a", "a2")
    assert fold_near_duplicates(ranked, {("c", "a2"): ("c", "a")}, keep=1) == [Folded(ranked[0], ["a2"])]
