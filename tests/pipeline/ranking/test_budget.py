"""The budget cut: rank order while results fit max_memories and max_tokens."""

from pipeline.ranking.budget import Budget, fit_budget


def hit(i: int, tokens: int) -> dict:
    return {"id": f"m{i}", "cube": "c", "tokens": tokens}


def test_the_budget_cuts_what_does_not_fit_and_keeps_smaller_ones_after_it():
    ranked = [hit(0, 300), hit(1, 800), hit(2, 200), hit(3, 100)]
    kept, used, cut = fit_budget(ranked, Budget(max_memories=10, max_tokens=600))
    assert [r["id"] for r in kept] == ["m0", "m2", "m3"] and used == 600
    assert cut == [{"id": "m1", "cube": "c", "tokens": 800, "reason": "max_tokens"}]


def test_max_memories_cuts_the_tail():
    kept, used, cut = fit_budget([hit(i, 10) for i in range(4)], Budget(max_memories=2))
    assert [r["id"] for r in kept] == ["m0", "m1"] and used == 20
    assert cut == [{"id": "m2", "cube": "c", "tokens": 10, "reason": "max_memories"},
                   {"id": "m3", "cube": "c", "tokens": 10, "reason": "max_memories"}]


def test_once_max_memories_is_reached_the_reason_is_max_memories_even_if_tokens_would_not_fit():
    kept, used, cut = fit_budget([hit(0, 5), hit(1, 500)], Budget(max_memories=1, max_tokens=10))
    assert (kept, used, cut) == ([hit(0, 5)], 5, [{"id": "m1", "cube": "c", "tokens": 500, "reason": "max_memories"}])


def test_a_result_exactly_filling_the_token_budget_is_kept():
    kept, used, cut = fit_budget([hit(0, 6), hit(1, 4), hit(2, 1)], Budget(max_tokens=10))
    assert ([r["id"] for r in kept], used, [c["id"] for c in cut]) == (["m0", "m1"], 10, ["m2"])


def test_nothing_ranked_uses_nothing():
    assert fit_budget([], Budget()) == ([], 0, [])
