"""The LongMemEval harness's concurrent ingest against a real server: several agents written at once,
each agent's batches in order, and every turn searchable in its own agent before the harness searches."""

from __future__ import annotations

import json

import httpx

from benchmarks import longmemeval
from benchmarks.longmemeval_data import load


def three_haystacks(path):
    facts = {"qa": ["I drink green tea every morning.", "I keep a bonsai called Kiwi."],
             "qb": ["My sister moved to Lisbon in May.", "I bought a red bicycle."],
             "qc": ["I play the cello on Sundays.", "My cat is named Pixel."]}
    questions = []
    for qid, (first, second) in facts.items():
        sessions = [[{"role": "user", "content": first, "has_answer": True}, {"role": "assistant", "content": "Nice."}],
                    [{"role": "user", "content": second}, {"role": "assistant", "content": "Good to know."},
                     {"role": "user", "content": "Thanks."}]]
        questions.append({"question_id": qid, "question_type": "single-session-user", "question": first.rstrip("."),
                          "answer": "", "question_date": "2023/05/30 (Tue) 10:00",
                          "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/21 (Sun) 02:21"],
                          "haystack_session_ids": [f"{qid}-s1", f"{qid}-s2"], "haystack_sessions": sessions,
                          "answer_session_ids": [f"{qid}-s1"]})
    path.write_text(json.dumps(questions))


def test_agents_ingested_at_once_are_all_written_and_kept_apart(tmp_path, server):
    three_haystacks(tmp_path / "lme.json")
    questions = load(tmp_path / "lme.json")
    with httpx.Client(base_url=server.url, timeout=120) as client:
        # Batches of two turns, two agents at once: each agent's five turns take three batches.
        figures = longmemeval.ingest(client, questions, batch=2, agents=2)
        assert figures["turns"] == 15 and figures["agents_at_once"] == 2
        for q in questions:
            listed = client.get("/v1/memories", params={"limit": 50, "tier": "trace", "status": "all"}, headers={"X-Agent-Id": longmemeval.agent_of(q)})
            listed.raise_for_status()
            ids = {m["id"] for m in listed.json()["items"]}
            assert ids == {t.id for t in q.turns}  # every turn, and only this agent's own
        result = longmemeval.run_config(client, questions, "default")
    assert result["n_questions"] == 3
    assert result["session"]["recall_all@5"] == 1.0 and result["turn"]["recall@10"] == 1.0
