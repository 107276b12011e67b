from pipeline.prefetch_model import ActivityModel


def test_a_write_predicts_a_search_of_the_same_cube():
    model = ActivityModel(half_life_s=60)
    model.observe("alice", ["agent-alice"], "write", at=1000.0)
    assert model.predict(now=1001.0, top=5) == ["agent-alice"]


def test_activity_wakes_the_cubes_an_agent_searches_together():
    model = ActivityModel(half_life_s=60)
    model.observe("bob", ["agent-bob", "kb-runbooks"], "search", at=0.0)
    model.forget_below(now=10_000.0)  # long ago: everything decayed away
    assert model.predict(now=10_000.0, top=5) == []
    model.observe("bob", ["agent-bob"], "write", at=10_000.0)
    assert model.predict(now=10_001.0, top=5) == ["agent-bob", "kb-runbooks"]


def test_scores_decay_with_the_half_life_and_rank_by_recency_and_frequency():
    model = ActivityModel(half_life_s=10)
    for t in range(3):
        model.observe("a", ["often"], "search", at=float(t))
    model.observe("a", ["once"], "search", at=2.0)
    assert model.predict(now=3.0, top=1) == ["often"]
    assert model.predict(now=100.0, top=5) == []  # ten half-lives later nothing is predicted


def test_cubes_already_warm_do_not_crowd_a_newly_written_one_out_of_the_plan():
    model = ActivityModel(half_life_s=600)
    for i in range(20):
        for _ in range(5):
            model.observe(f"busy{i}", [f"agent-busy{i}"], "search", at=0.0)
    model.observe("newcomer", ["agent-newcomer"], "write", at=1.0)
    warm = frozenset(f"agent-busy{i}" for i in range(20))
    assert "agent-newcomer" not in model.predict(now=1.0, top=4)
    assert model.predict(now=1.0, top=4, exclude=warm) == ["agent-newcomer"]
