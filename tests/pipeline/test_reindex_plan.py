"""A reindex's pure parts: each shard writer gets exactly its cubes' rows, and the report's arithmetic."""

import numpy as np
import pyarrow as pa

from pipeline.records import vector_type
from pipeline.reindex_plan import ReindexReport, split_by_shard


def embedded(cubes: list[str]) -> pa.Table:
    vectors = np.arange(len(cubes) * 4, dtype=np.float32)
    return pa.table({"cube": cubes, "id": [f"m{i}" for i in range(len(cubes))],
                     "index_text": ["t"] * len(cubes),
                     "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors), 4)})


def test_rows_go_to_their_cubes_shard_in_order():
    table = pa.concat_tables([embedded(["a", "b", "a"]), embedded(["c"])])  # two chunks, as Ray Data hands them
    parts = split_by_shard(table, {"a": "s0", "b": "s1", "c": "s0"})
    assert sorted(parts) == ["s0", "s1"]
    assert parts["s0"]["id"].to_pylist() == ["m0", "m2", "m0"] and parts["s0"]["cube"].to_pylist() == ["a", "a", "c"]
    assert parts["s1"]["id"].to_pylist() == ["m1"]
    assert parts["s0"].schema.field("vector").type == vector_type(4)
    assert parts["s0"]["vector"].to_pylist()[1] == [8.0, 9.0, 10.0, 11.0]
    assert split_by_shard(embedded([]), {}) == {}


def test_the_report_says_rows_per_second_of_the_whole_job():
    report = ReindexReport(reembedded=1_000, embed_seconds=9.0, rebuild_seconds=1.0, seconds=10.0)
    assert report.rate == 100.0 and report.to_json()["rate"] == 100.0
    assert ReindexReport().rate == 0.0
