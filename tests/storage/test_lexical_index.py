"""tantivy shard index: one writer, a reader elsewhere that sees commits after reload."""

from pipeline.filters import SearchFilter
from pipeline.records import IndexRow
from storage.lexical_index import LexicalReader, LexicalWriter, query_terms


def doc(memory_id, text, cube="agent-a", kind="note", tags=(), created_at=1000):
    return IndexRow(id=memory_id, cube=cube, tier="trace", kind=kind, index_text=text, tags=list(tags),
                    created_at=created_at, status="active")


def test_reader_sees_writer_commits_after_reload(tmp_path):
    writer = LexicalWriter(tmp_path / "lex")
    reader = LexicalReader(tmp_path / "lex")
    writer.apply([doc("m1", "Caroline went hiking in the mountains")], [])
    reader.reload()
    ((cube, memory_id, score),) = reader.search("hiking mountains", ["agent-a"], 5)
    assert (cube, memory_id) == ("agent-a", "m1") and score > 0
    assert reader.search("hiking", ["agent-b"], 5) == []


def test_same_id_in_two_cubes_are_two_documents(tmp_path):
    writer = LexicalWriter(tmp_path / "lex")
    writer.apply([doc("m1", "apple pie recipe"), doc("m1", "apple orchard visit", cube="agent-b")], [])
    writer.apply([], [("agent-a", "m1")])
    reader = LexicalReader(tmp_path / "lex")
    assert [(c, i) for c, i, _ in reader.search("apple", ["agent-a", "agent-b"], 5)] == [("agent-b", "m1")]


def test_upsert_replaces_the_document(tmp_path):
    writer = LexicalWriter(tmp_path / "lex")
    writer.apply([doc("m1", "old words here")], [])
    writer.apply([doc("m1", "new vocabulary")], [])
    reader = LexicalReader(tmp_path / "lex")
    assert reader.search("old words", ["agent-a"], 5) == []
    assert [i for _, i, _ in reader.search("vocabulary", ["agent-a"], 5)] == ["m1"]
    assert reader.num_docs() == 1


def test_filters_on_kind_tags_and_time(tmp_path):
    writer = LexicalWriter(tmp_path / "lex")
    writer.apply([
        doc("a", "deploy failed again", kind="tool_call", tags=["ci"], created_at=100),
        doc("b", "deploy succeeded", kind="message", tags=["ci", "prod"], created_at=200),
        doc("c", "deploy postponed", kind="message", created_at=300),
    ], [])
    reader = LexicalReader(tmp_path / "lex")

    def ids(filt):
        return sorted(i for _, i, _ in reader.search("deploy", ["agent-a"], 10, filt))

    assert ids(SearchFilter(kinds=frozenset({"message"}))) == ["b", "c"]
    assert ids(SearchFilter(tags=frozenset({"ci"}))) == ["a", "b"]
    assert ids(SearchFilter(since=200)) == ["b", "c"]
    assert ids(SearchFilter(until=200)) == ["a"]


def test_query_text_cannot_inject_query_syntax(tmp_path):
    assert query_terms('cube:agent-b OR title:"x" AND (y*)') == "cube agent b title x y"
    writer = LexicalWriter(tmp_path / "lex")
    writer.apply([doc("m1", "secret plans", cube="agent-b")], [])
    reader = LexicalReader(tmp_path / "lex")
    assert reader.search("cube:agent-b secret", ["agent-a"], 5) == []
    assert reader.search("***", ["agent-a"], 5) == []


def test_apostrophes_and_punctuation_in_queries_are_plain_words(tmp_path):
    # Regression: "it's" reached tantivy's query parser as a syntax error (a 500 from /v1/search).
    writer = LexicalWriter(tmp_path / "lex")
    writer.apply([doc("m1", "It's a love story with lots of challenges")], [])
    reader = LexicalReader(tmp_path / "lex")
    for text in ("it's a love story", "o'clock 'quoted' \"double\" [x] {y} ~z ^2 a:b", "it's"):
        reader.search(text, ["agent-a"], 5)
    assert [i for _, i, _ in reader.search("it's a love story", ["agent-a"], 5)] == ["m1"]


def test_a_cube_holding_the_whole_index_is_searched_without_the_cube_filter_and_still_alone(tmp_path):
    writer = LexicalWriter(tmp_path / "lex")
    writer.apply([doc(f"a{i}", f"garden note {i}") for i in range(10)], [])
    reader = LexicalReader(tmp_path / "lex")
    assert {i for _, i, _ in reader.search("garden", ["agent-a"], 20)} == {f"a{i}" for i in range(10)}
    # Deleted documents can still count towards a cube's term statistics, so the index may look
    # like agent-a's alone while agent-b's best matches sit in it: those must never come back.
    writer.apply([doc("b1", "garden garden garden", cube="agent-b")], [("agent-a", f"a{i}") for i in range(9)])
    reader.reload()
    assert [(c, i) for c, i, _ in reader.search("garden", ["agent-a"], 20)] == [("agent-a", "a9")]
    assert [(c, i) for c, i, _ in reader.search("garden", ["agent-b"], 20)] == [("agent-b", "b1")]
