"""LongMemEval scoring: the paper's recall_all@k and our averaged recall, at session and turn level,
with abstention questions left out (pure functions, no server)."""

from __future__ import annotations

import json

from benchmarks import longmemeval
from benchmarks.longmemeval_data import load


def haystack_file(path):
    def session(sid, lines, answer_at=()):
        return sid, [{"role": "user" if j % 2 == 0 else "assistant", "content": text,
                      **({"has_answer": True} if j in answer_at else {})} for j, text in enumerate(lines)]

    sessions = [session("s1", ["I drink green tea.", "Nice."], answer_at=(0,)),
                session("s2", ["Lisbon is lovely.", "It is."]),
                session("s3", ["Still on green tea.", "Good."], answer_at=(0,))]
    q = {"question_id": "q1", "question_type": "multi-session", "question": "What do I drink?", "answer": "tea",
         "question_date": "2023/05/30 (Tue) 10:00",
         "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/21 (Sun) 02:21", "2023/05/22 (Mon) 02:21"],
         "haystack_session_ids": [s for s, _ in sessions], "haystack_sessions": [t for _, t in sessions],
         "answer_session_ids": ["s1", "s3"]}
    absent = {**q, "question_id": "q2_abs", "answer_session_ids": []}
    path.write_text(json.dumps([q, absent]))


def test_the_reader_marks_evidence_turns_sessions_and_abstention(tmp_path):
    haystack_file(tmp_path / "lme.json")
    q, absent = load(tmp_path / "lme.json")
    assert q.evidence_sessions == ("s1", "s3") and q.evidence_turns == ("s1:0", "s3:0")
    assert len(q.turns) == 6 and q.turns[0].time.isoformat() == "2023-05-20T02:21:00+00:00"
    assert not q.abstention and absent.abstention


def test_recall_all_needs_every_evidence_item_while_recall_counts_the_share(tmp_path):
    haystack_file(tmp_path / "lme.json")
    q, _ = load(tmp_path / "lme.json")
    ranked = ["s1:1", "s1:0", "s2:0", "s2:1", "s1:1", "x:0", "y:0", "z:0", "w:0", "v:0", "s3:0"]
    scores = longmemeval.question_scores(ranked, q)
    # Sessions by their best turn: s1, s2, x, y, z, w, v, s3 -> s3 is 8th.
    assert scores["session"] == {"recall_all@5": 0.0, "recall@5": 0.5, "recall_all@10": 1.0, "recall@10": 1.0}
    # Turns: s1:0 is 2nd, s3:0 is 11th, outside the top 10.
    assert scores["turn"] == {"recall_all@5": 0.0, "recall@5": 0.5, "recall_all@10": 0.0, "recall@10": 0.5}


def test_abstention_questions_are_left_out_of_every_figure(tmp_path):
    haystack_file(tmp_path / "lme.json")
    questions = load(tmp_path / "lme.json")
    out = longmemeval.scored(questions, [["s1:0", "s3:0"], []])
    assert out["n_questions"] == 1
    assert out["turn"]["recall_all@5"] == 1.0 and out["session"]["recall@10"] == 1.0
    assert list(out["per_type"]) == ["multi-session"]


def test_a_question_type_limit_keeps_the_first_of_each_type(tmp_path):
    haystack_file(tmp_path / "lme.json")
    questions = load(tmp_path / "lme.json")
    assert [q.id for q in longmemeval.pick(questions, 1)] == ["q1"]
    assert len(longmemeval.pick(questions, None)) == 2
