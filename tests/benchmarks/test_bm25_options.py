"""The BM25 options benchmark measures what it says: each variant on the server's own index, and the
ones that only change how tantivy collects give the server's hits exactly."""

from __future__ import annotations

import json

from benchmarks import bm25_options, corpus


def test_the_bm25_options_benchmark_compares_every_variant_with_the_servers_path(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "CACHE", tmp_path / "cache")
    out, plot = tmp_path / "bm25.json", tmp_path / "bm25.png"
    bm25_options.main(["--docs", "3000", "--out", str(out), "--plot", str(plot)])
    result = json.loads(out.read_text())
    assert result["docs"] == 3000 and plot.stat().st_size > 0
    for how in ("pipeline", "rebuild"):
        index = result["indexes"][how]
        assert index["docs"] == 3000 and index["segments"] >= 1
        variants = index["variants"]
        for name in ("two fields, count on", "two fields, count off", "term-set filter, count on",
                     "term-set filter, count off", "term filter, count off"):
            assert variants[name]["same_hits_as_server"] == 1.0, (how, name)
        assert "same_hits_as_server" not in variants["content only, count on"]  # scored differently
        assert all(v["p95_ms"] >= v["p50_ms"] > 0 for v in variants.values())
