"""The crystallize stage's pure part: closing rows bring their task vector; derived rows follow
their cause with no vector, for the chain's second embed pass."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa

from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize_stage import EpisodeBook, crystallize_rows, with_derived
from pipeline.records import deduped_schema, derived_row
from tests.builders import CUBE

TASK_VECTOR = [1.0] + [0.0] * 383


def episode_row(seq: int, action: str, **attrs) -> dict:
    return derived_row(seq=seq, job_id=f"job-{seq}", op="episode", id="ep-1", cube=CUBE, agent="alice",
                       attrs=orjson.dumps({"action": action, "at": 1000 + seq, **attrs}).decode())


def trace_row(seq: int) -> dict:
    return derived_row(seq=seq, job_id=f"job-{seq}", op="add", id="ep-1-0", cube=CUBE, agent="alice", tier="trace",
                       kind="tool_call", content="build", index_text="build", metadata="{}", created_at=1002,
                       episode="ep-1", tool=orjson.dumps({"name": "build_image", "status": "ok"}).decode(),
                       vector=[0.5] * 384)


def test_a_closing_episode_yields_its_summary_right_after_it_with_no_vector(count_tokens):
    rows = [episode_row(1, "open", task="Deploy the api"), trace_row(2),
            episode_row(3, "close", outcome="success", task="Deploy the api", task_vector=TASK_VECTOR)]
    batch = pa.RecordBatch.from_pylist(rows, schema=deduped_schema(384))
    books: dict[str, EpisodeBook] = {}
    derived = crystallize_rows(batch.drop_columns(["vector"]).to_pylist(), lambda c: books.setdefault(c, EpisodeBook()),
                               CrystallizeConfig())
    out = with_derived(batch, derived, count_tokens)

    assert out["id"].to_pylist() == ["ep-1", "ep-1-0", "ep-1", "summary-ep-1"]
    summary = out.to_pylist()[3]
    assert (summary["seq"], summary["kind"], summary["episode"], summary["vector"]) == (3, "summary", "ep-1", None)
    assert summary["status"] == "active" and summary["tokens"] > 0
    (episode,) = books[CUBE].pool
    assert np.array_equal(episode.task_vector, np.asarray(TASK_VECTOR, dtype=np.float32))
    assert [t.id for t in episode.traces] == ["ep-1-0"]
