"""The LoCoMo harness runs end to end on any file in the LoCoMo schema and reports what it promises."""

from __future__ import annotations

import json

from benchmarks import locomo


def tiny_locomo(path):
    turns = [
        ("Ann", "I finally finished the marathon in Boston last weekend!"),
        ("Bo", "Congratulations! How long did it take you?"),
        ("Ann", "Four hours and ten minutes, my best time yet."),
        ("Bo", "I adopted a puppy called Biscuit yesterday."),
        ("Ann", "What breed is Biscuit?"),
        ("Bo", "A golden retriever, very playful."),
    ]
    conv = {
        "speaker_a": "Ann", "speaker_b": "Bo",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [{"speaker": s, "dia_id": f"D1:{i + 1}", "text": t} for i, (s, t) in enumerate(turns)],
    }
    qa = [
        {"question": "Where did Ann run a marathon?", "answer": "Boston", "evidence": ["D1:1"], "category": 4},
        {"question": "How long did Ann's marathon take?", "answer": "4h10", "evidence": ["D1:3"], "category": 1},
        {"question": "What breed is Bo's puppy?", "answer": "golden retriever", "evidence": ["D1:6", "D9:99"],
         "category": 2},
        {"question": "Is this adversarial?", "adversarial_answer": "x", "evidence": ["D1:2"], "category": 5},
    ]
    path.write_text(json.dumps([{"sample_id": "conv-t", "conversation": conv, "qa": qa}]))


def test_the_harness_ingests_searches_and_scores_through_the_product(tmp_path):
    data = tmp_path / "tiny.json"
    tiny_locomo(data)
    out = tmp_path / "out.json"
    result = locomo.main(["--data", str(data), "--out", str(out), "--config", "default", "--world-model", "on",
                          "--no-cache"])
    written = json.loads(out.read_text())
    assert written["n_questions"] == 3  # category 5 left out; the unknown evidence id dropped
    assert set(written["recall"]) == {"5", "10", "20"}
    assert written["recall"]["20"] == 1.0  # six turns: every one is within the top 20
    assert 0 < written["mrr"] <= 1 and 0 < written["ndcg10"] <= 1
    assert set(written["per_category"]) == {"1", "2", "3", "4"} and written["per_category"]["3"]["n_questions"] == 0
    assert written["latency_ms"]["p50"] > 0 and written["ingest"]["turns"] == 6
    assert written["budget"]["max_tokens"] == 1000 and written["budget"]["recall"] == 1.0
    assert list(written["configs"]) == ["default"] and result["config"] == "default"
    assert out.with_suffix(".png").stat().st_size > 1000
    # The server's default ingest (world model on), and the long-query view of the same questions.
    assert written["world_model"] is True and list(written["runs"]) == ["world_model_on"]
    assert "reused" not in written["ingest"]
    assert written["long_query"]["default"]["n_questions"] == 3
