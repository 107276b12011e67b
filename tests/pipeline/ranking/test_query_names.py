"""The people a query names: whole words in any case, possessives too, and whose a memory is."""

import pytest

from pipeline.query_names import NamedIn, name_candidates, person_of, without_names
from pipeline.ranking.boosts import boost, boosts_of
from pipeline.ranking.config import RankingConfig
from pipeline.ranking.fusion import Fused
from pipeline.records import MemoryRecord


def record(memory_id: str, metadata: dict, tier: str = "trace") -> MemoryRecord:
    return MemoryRecord(id=memory_id, cube="c", agent="a", tier=tier, kind="message" if tier == "trace" else "fact",
                        content=memory_id, tags=[], metadata=metadata, created_at=0, updated_at=0)


def test_a_name_counts_as_whole_words_in_any_case_and_a_possessive_counts():
    named = NamedIn("Where has Melanie's family camped, and did mel go?")
    assert named("Melanie") and named("melanie") and named("Mel")
    assert not named("Mela") and not named("Caroline") and not named("")
    assert NamedIn("what did dr  jo  smith say")("Dr Jo Smith")
    assert not NamedIn("what did Jo say")("Jo Smith")


def test_a_trace_is_its_speakers_or_roles_and_a_world_fact_its_subjects():
    assert person_of(record("m", {"speaker": " Melanie "})) == "Melanie"
    assert person_of(record("m", {"role": "user"})) == "user"
    assert person_of(record("m", {})) is None
    assert person_of(record("f", {"subject": "Caroline", "speaker": "Melanie"}, tier="world")) == "Caroline"
    assert person_of(record("f", {"subject": 3}, tier="world")) is None


def test_only_a_memory_by_or_about_a_named_person_is_boosted_and_only_when_configured():
    mine, theirs = record("mine", {"speaker": "Melanie"}), record("theirs", {"speaker": "Caroline"})
    names = NamedIn("Where has Melanie camped?")
    on = RankingConfig(speaker_weight=0.75)
    assert boosts_of(mine, 0, on, names=names)["speaker"] == pytest.approx(1.75)
    assert "speaker" not in boosts_of(theirs, 0, on, names=names)
    assert "speaker" not in boosts_of(mine, 0, RankingConfig(), names=names)
    fused = [Fused(("c", "theirs"), 0.10), Fused(("c", "mine"), 0.07)]
    records = {("c", "theirs"): theirs, ("c", "mine"): mine}
    assert [b.key[1] for b in boost(fused, records, on, names=names)] == ["mine", "theirs"]
    assert [b.key[1] for b in boost(fused, records, RankingConfig(speaker_weight=0.3), names=names)] == ["theirs", "mine"]


def test_a_negative_speaker_weight_is_refused():
    with pytest.raises(ValueError, match="speaker_weight"):
        RankingConfig(speaker_weight=-0.1)


def test_a_querys_short_word_runs_are_its_name_candidates_lowercased_as_sqlite_lowers():
    assert name_candidates("Did Mary Ann go?") == ["did", "mary", "ann", "go", "did mary", "mary ann", "ann go",
                                                   "did mary ann", "mary ann go"]
    assert name_candidates("ÉMILE Zola") == ["Émile", "zola", "Émile zola"]  # SQLite lowers ASCII only


def test_names_leave_the_searched_text_possessives_too_but_never_all_of_it():
    assert without_names("Where has Melanie's family camped?", {"melanie"}) == "Where has family camped?"
    assert without_names("Did MARY ANN and Mary go?", {"mary", "mary ann"}) == "Did and go?"
    assert without_names("Melanie?", {"melanie"}) == "Melanie?"
    assert without_names("Where is Melanies bag?", {"melanie"}) == "Where is Melanies bag?"
