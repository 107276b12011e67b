"""benchmarks/prefetch.py and benchmarks/ingest.py: the figures their JSON promises, from known rows."""

from __future__ import annotations

from benchmarks.ingest import stage_delta
from benchmarks.prefetch import recall, summarise


def row(hit: bool, ms: float, full: float, rw: float, ro: float) -> dict:
    return {"hit": hit, "ms": ms, "ms_with_embed": ms + 10, "ms_full": full, "recall_with": rw,
            "recall_without": ro, "same": rw == ro}


def test_the_replay_summary_has_the_contract_keys_and_counts_hits_and_misses_apart():
    rows = [row(True, 1.0, 4.0, 1.0, 1.0), row(True, 2.0, 5.0, 0.5, 0.5), row(False, 6.0, 6.0, 0.0, 0.5)]
    s = summarise(rows, [30.0])
    assert s["hit_rate"] == round(2 / 3, 4) and s["p50_ms_hit"] == 1.5 and s["p50_ms_miss"] == 6.0
    assert s["recall_at_10"] == {"with_prefetch": 0.5, "without_prefetch": round(2 / 3, 4)}
    assert s["p50_ms_miss_measured_on"] == "misses" and s["same_results"] == round(2 / 3, 4)
    only_hits = summarise(rows[:2], [])
    assert only_hits["p50_ms_miss"] == 4.5 and only_hits["p50_ms_miss_measured_on"].startswith("the full path")
    assert recall(["a", "b"], ("b", "c")) == 0.5


def test_stage_figures_over_a_run_are_the_differences_of_the_counters():
    before = {"embed": {"busy_s": 1.0, "rows": 100.0}}
    after = {"embed": {"busy_s": 3.0, "rows": 300.0}, "write": {"busy_s": 0.5, "rows": 200.0}}
    assert stage_delta(before, after, 4.0) == {
        "embed": {"busy_s": 2.0, "rows": 200, "rows_per_busy_s": 100.0, "share_of_wall": 0.5},
        "write": {"busy_s": 0.5, "rows": 200, "rows_per_busy_s": 400.0, "share_of_wall": 0.125},
    }
