"""Retrieval in the product: neighbouring-turn context, explained results, budgets, time filters, timelines."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from api.schemas import SearchIn, SearchOut
from pipeline.errors import Invalid

T0 = "2023-05-08T13:56:00Z"


@pytest.fixture
def agent(server, request):
    with server.client(f"retr_{request.node.name[:40]}") as c:
        yield c


def say(c, memory_id: str, speaker: str, text: str, at: str, **extra) -> None:
    body = {"id": memory_id, "content": text, "kind": "message", "metadata": {"speaker": speaker},
            "created_at": at, **extra}
    r = c.post("/v1/memories", params={"wait": "true"}, json=body)
    assert r.status_code == 201, r.text


def bm25_ids(c, query: str, context: bool) -> list[str]:
    r = c.post("/v1/search", json={"query": query, "ranking": {"channels": ["bm25"], "context": context}})
    assert r.status_code == 200, r.text
    return [h["id"] for h in r.json()["results"]]


def test_a_turn_is_found_by_the_words_of_the_exchange_it_answers(agent):
    say(agent, "q1", "Melanie", "What did you research last week?", "2023-05-08T13:56:00Z")
    say(agent, "a1", "Caroline", "Adoption agencies, mostly.", "2023-05-08T13:56:01Z")
    say(agent, "x1", "Caroline", "I signed up for a pottery class.", "2023-05-10T09:00:00Z")  # days later
    assert bm25_ids(agent, "research", context=False) == ["q1"]
    assert bm25_ids(agent, "research", context=True) == ["q1", "a1"]
    # the question turn was indexed before its answer arrived; the answer's words reach it afterwards
    assert set(bm25_ids(agent, "agencies", context=True)) == {"a1", "q1"}
    # a turn days apart is another conversation, never context
    assert "x1" not in bm25_ids(agent, "agencies", context=True)
    assert bm25_ids(agent, "pottery", context=True) == ["x1"]


def test_every_result_says_why_and_the_token_budget_cuts_what_does_not_fit(agent):
    say(agent, "k1", "Jon", "The kiln in the garage reaches 1200 degrees.", T0)
    say(agent, "k2", "Jon", "Kiln firing takes " + "a very long time and much patience, " * 12 + "for stoneware.",
        "2023-05-08T14:10:00Z")
    say(agent, "k3", "Jon", "My kiln shelf cracked.", "2023-05-08T14:20:00Z")
    full = agent.post("/v1/search", json={"query": "kiln", "top_k": 3}).json()
    SearchOut.model_validate(full)  # the route serialises the service's dict as it is: it must be this shape
    assert {h["id"] for h in full["results"]} == {"k1", "k2", "k3"}
    for h in full["results"]:
        why = h["why"]
        assert why["bm25"]["rank"] >= 1 and why["vector"]["rank"] >= 1 and why["fusion"] > 0
        # Three turns within 30 minutes are one session: each gains a share of the others' best
        # score (session credit, docs/retrieval.md), shown as a multiplier beside feedback.
        boosts = why["boosts"]
        assert boosts["feedback"] == 1.0 and boosts["session"] > 1.0 and set(boosts) == {"feedback", "session"}
        assert why["mmr_rank"] is None and h["score"] == pytest.approx(why["fusion"] * math.prod(boosts.values()), rel=1e-3)
        assert h["tokens"] > 0
    assert full["used_tokens"] == sum(h["tokens"] for h in full["results"]) and full["cut"] == []
    long_tokens = next(h["tokens"] for h in full["results"] if h["id"] == "k2")
    small = sum(h["tokens"] for h in full["results"] if h["id"] != "k2")
    fit = agent.post("/v1/search", json={"query": "kiln", "top_k": 3, "max_tokens": small}).json()
    assert {h["id"] for h in fit["results"]} == {"k1", "k3"} and fit["used_tokens"] == small
    assert fit["cut"] == [{"id": "k2", "cube": fit["results"][0]["cube"], "tokens": long_tokens, "reason": "max_tokens"}]
    one = agent.post("/v1/search", json={"query": "kiln", "top_k": 3, "max_memories": 1}).json()
    assert len(one["results"]) == 1 and [c["reason"] for c in one["cut"]] == ["max_memories", "max_memories"]


def test_since_and_until_filter_both_channels(agent):
    say(agent, "early", "Ann", "We planted tomatoes in the garden.", "2023-01-01T10:00:00Z")
    say(agent, "late", "Ann", "We harvested tomatoes from the garden.", "2023-08-01T10:00:00Z")
    for channels in (["bm25"], ["vector"], ["bm25", "vector"]):
        body = {"query": "tomatoes garden", "ranking": {"channels": channels}}
        since = agent.post("/v1/search", json={**body, "since": "2023-06-01T00:00:00Z"}).json()
        until = agent.post("/v1/search", json={**body, "until": "2023-06-01T00:00:00Z"}).json()
        assert [h["id"] for h in since["results"]] == ["late"]
        assert [h["id"] for h in until["results"]] == ["early"]
    bad = agent.post("/v1/search", json={"query": "x", "since": "2023-06-01T00:00:00Z", "until": "2023-01-01T00:00:00Z"})
    assert bad.status_code == 422
    assert bad.json() == {"error": {"code": "invalid", "message": "until must be later than since"}}


def test_until_must_be_later_than_since_in_stored_milliseconds():
    body = {"query": "x", "since": "2023-06-01T00:00:00Z"}
    with pytest.raises(Invalid, match="^until must be later than since$"):
        SearchIn.model_validate({**body, "until": "2023-06-01T00:00:00.0004Z"})  # the same millisecond
    assert SearchIn.model_validate({**body, "until": "2023-06-01T00:00:00.001Z"}).until is not None
    # a time names its zone (issue 13: the OpenAPI's date-time, exactly as the server reads it)
    with pytest.raises(ValidationError, match="RFC 3339 time with a zone"):
        SearchIn.model_validate({**body, "until": "2023-06-01T00:00:00.001"})
    assert SearchIn.model_validate({"query": "x", "until": "2023-01-01T00:00:00Z"}).since is None


def test_recency_and_mmr_are_explained_when_asked_for(agent):
    say(agent, "r1", "Bo", "Bo adopted a grey cat named Smoke.", "2023-01-01T10:00:00Z")
    say(agent, "r2", "Bo", "Bo adopted a grey cat named Smoke!", "2023-03-01T10:00:00Z")
    body = {"query": "grey cat Smoke", "collapse": False,
            "ranking": {"recency_half_life_days": 14, "mmr_lambda": 0.5}}
    results = agent.post("/v1/search", json=body).json()["results"]
    boosts = {h["id"]: h["why"]["boosts"]["recency"] for h in results}
    assert boosts["r2"] == pytest.approx(1.0) and boosts["r1"] < 0.75
    assert [h["why"]["mmr_rank"] for h in results] == [1, 2]


def test_what_the_person_a_query_names_said_ranks_first_and_says_why(agent):
    # Days apart: two separate exchanges, so neither turn gains the other's words or session credit.
    say(agent, "s1", "Caroline", "We went camping at the lake last summer.", "2023-05-01T10:00:00Z")
    say(agent, "s2", "Melanie", "We went camping in the mountains last summer.", "2023-05-09T10:00:00Z")
    asked = {"query": "Where has Melanie gone camping?"}
    results = agent.post("/v1/search", json=asked).json()["results"]
    assert results[0]["id"] == "s2" and results[0]["why"]["boosts"]["speaker"] == pytest.approx(1.75)
    assert "speaker" not in next(h for h in results if h["id"] == "s1")["why"]["boosts"]
    plain = agent.post("/v1/search", json={**asked, "ranking": {"speaker_weight": 0}}).json()["results"]
    assert all("speaker" not in h["why"]["boosts"] for h in plain)
    assert agent.post("/v1/search", json={**asked, "ranking": {"speaker_weight": -1}}).status_code == 422


def test_a_speaker_the_query_names_is_left_out_of_the_searched_words_and_only_a_speaker(agent):
    say(agent, "p1", "Melanie", "I went hiking with Luna.", "2023-05-01T10:00:00Z")
    say(agent, "p2", "Caroline", "Pottery is fun.", "2023-05-09T10:00:00Z")
    lexical = {"channels": ["bm25"], "context": False}
    def ids(query: str, **ranking) -> list[str]:
        r = agent.post("/v1/search", json={"query": query, "ranking": {**lexical, **ranking}})
        assert r.status_code == 200, r.text
        return [h["id"] for h in r.json()["results"]]
    # "Melanie" matches p1's indexed text ("Melanie: ..."), but as a speaker it only boosts her turns.
    assert ids("Melanie pottery", strip_speakers=False) == ["p1", "p2"]
    assert ids("Melanie pottery") == ["p2"]
    assert sorted(ids("Luna pottery")) == ["p1", "p2"]  # Luna is named in a turn, not a speaker: still searched
    assert ids("Melanie") == ["p1"]  # nothing else to search: the query as it is


def test_timeline_returns_the_neighbouring_turns_oldest_first(server, agent):
    for i in range(6):
        say(agent, f"t{i}", "Ann" if i % 2 else "Bo", f"turn number {i}", f"2023-05-08T14:00:0{i}Z")
    r = agent.get("/v1/memories/t3/timeline", params={"before": 2, "after": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["id"] for m in body["items"]] == ["t1", "t2", "t3", "t4"] and body["position"] == 2
    assert agent.get("/v1/memories/t0/timeline").json()["position"] == 0
    with server.client("retr_stranger") as stranger:
        hidden = stranger.get("/v1/memories/t3/timeline")
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert agent.get("/v1/memories/t3/timeline", params={"before": -1}).status_code == 422


def test_notes_written_together_do_not_borrow_each_others_words(agent):
    for i, text in enumerate(["Rotate the staging database password.", "Order more printer toner."]):
        r = agent.post("/v1/memories", params={"wait": "true"},
                       json={"id": f"n{i}", "content": text, "created_at": f"2023-05-08T14:00:0{i}Z"})
        assert r.status_code == 201, r.text
    assert bm25_ids(agent, "toner", context=True) == ["n1"]
    assert bm25_ids(agent, "password", context=True) == ["n0"]
