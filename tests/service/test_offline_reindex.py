"""`memos reindex --offline --reembed --all`: the Ray Data job re-embeds every stored row from the cube
files and the shard writers rebuild Lance and tantivy; search answers as before, and a shard whose
indexes went missing or were changed is rebuilt whole."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import apsw
import numpy as np
import pytest

from api.server_process import MEMOS, start_server
from pipeline.records import IndexRow
from storage.lexical_index import LexicalReader, LexicalWriter
from storage.paths import DataPaths
from storage.registry import shard_for
from storage.vector_shard import VectorShard

# crc32 places agent-ada's cube in shard s1 and agent-cy's in s0 (n_shards = 2).
TEXTS = {
    "ada": ["the lighthouse keeper feeds seven cats", "ferry tickets are in the blue drawer",
            "Ada prefers green tea over espresso", "the billing migration is blocked until Friday"],
    "cy": ["Cy went hiking near Bergen in June", "the deploy_service tool failed with a timeout",
           "oat milk for the office fridge", "the security audit is scheduled for Tuesday"],
}
QUERIES = ["cats in the lighthouse", "where are the ferry tickets", "hiking in Norway", "tool timeout",
           "what does Ada drink", "when is the audit"]
CUBES = ["agent-ada", "agent-cy"]


def index_answers(paths: DataPaths, encoder, shards=("s0", "s1")) -> dict:
    """Every query's BM25 and vector hits from the shards' indexes, as a search reads them."""
    out = {}
    for shard in shards:
        lexical = LexicalReader(paths.lexical_dir(shard))
        vectors = VectorShard(paths.vectors_dir(shard), 384, create=False)
        for q in QUERIES:
            out[(shard, q, "bm25")] = [(c, i) for c, i, _ in lexical.search(q, CUBES, 5)]
            hits = vectors.search(encoder.encode([q])[0], CUBES, 5)
            out[(shard, q, "vector")] = [(c, i, round(s, 4)) for c, i, s in hits]
    return out


def stored_vectors(paths: DataPaths, cube: str) -> dict[str, tuple[str, np.ndarray]]:
    conn = apsw.Connection(str(paths.cube_db(cube)))
    try:
        return {i: (t, np.frombuffer(e, dtype=np.float32)) for i, t, e in
                conn.execute("SELECT id, index_text, embedding FROM memories WHERE status = 'active'")}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    """A server on two cubes in two shards, every write searchable."""
    assert [shard_for(c, 2) for c in CUBES] == ["s1", "s0"]
    data = tmp_path_factory.mktemp("offline") / "data"
    server = start_server(data, timeout=600, n_shards="2", world_model="false")
    try:
        for agent, texts in TEXTS.items():
            with server.client(agent) as c:
                r = c.post("/v1/memories/batch?wait=true", json={"items": [{"content": t} for t in texts]})
                assert r.status_code == 200 and r.json()["status"] == "done", r.text
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def written(serving):
    """The same data directory with the server stopped."""
    serving.stop()
    return serving


def test_an_online_reembed_runs_the_ray_data_job_in_the_server_and_writes_keep_flowing(serving, encoder):
    with serving.client("ada") as c:
        r = c.post("/v1/reindex", json={"reembed": True, "all": True})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        # Accepted while the reindex runs; stored once the pipeline resumes.
        late = c.post("/v1/memories", json={"content": "the harbour ferry leaves at noon"})
        assert late.status_code == 202
        deadline = time.monotonic() + 240
        while (job := c.get(f"/v1/jobs/{job_id}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.3)
        assert (job["status"], job["done"], job["total"]) == ("done", 2, 2), job
        hits = c.post("/v1/search", json={"query": "cats in the lighthouse", "top_k": 1}).json()["results"]
        assert hits[0]["content"] == TEXTS["ada"][0]
        while c.get(f"/v1/memories/{late.json()['id']}").json()["status"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.3)
    stored = stored_vectors(DataPaths(serving.data_dir), "agent-ada")
    text, vector = stored[late.json()["id"]]
    assert np.abs(vector - encoder.encode([text])[0]).max() < 1e-5


def test_offline_reembed_rebuilds_changed_and_missing_shards_and_search_answers_as_before(written, encoder):
    paths = DataPaths(written.data_dir)
    before = index_answers(paths, encoder)
    assert before[("s1", "cats in the lighthouse", "bm25")][0][0] == "agent-ada"
    assert before[("s0", "hiking in Norway", "vector")][0][0] == "agent-cy"
    truth = {cube: stored_vectors(paths, cube) for cube in CUBES}

    # s1 lost both indexes; s0's were changed behind the writer's back: a stray BM25 document and
    # a vector row that no cube file holds. One stored vector is damaged (zeros) in the file itself.
    shutil.rmtree(paths.lexical_dir("s1"))
    shutil.rmtree(paths.vectors_dir("s1"))
    stray = IndexRow(id="stray", cube="agent-cy", tier="trace", kind="note", index_text="cats cats lighthouse",
                     tags=[], created_at=1, status="active", vector=np.ones(384, np.float32) / np.sqrt(384))
    writer = LexicalWriter(paths.lexical_dir("s0"))
    writer.apply([stray], [])
    writer.close()
    VectorShard(paths.vectors_dir("s0"), 384, create=True).upsert([stray])
    damaged = next(iter(truth["agent-cy"]))
    conn = apsw.Connection(str(paths.cube_db("agent-cy")))
    conn.execute("UPDATE memories SET embedding = ? WHERE id = ?", (np.zeros(384, np.float32).tobytes(), damaged))
    conn.close()
    changed = index_answers(paths, encoder, ["s0"])
    assert changed != {k: v for k, v in before.items() if k[0] == "s0"}
    assert changed[("s0", "cats in the lighthouse", "bm25")][0] == ("agent-cy", "stray")

    out = subprocess.run([MEMOS, "reindex", "--offline", "--reembed", "--all", "--json"],
                         env=written.env(MEMOS_N_SHARDS="2"), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    n = sum(len(rows) for rows in truth.values())
    assert n == 9  # the eight written first and the one accepted during the online reindex
    assert {k: report[k] for k in ("shards", "cubes", "vectors", "documents", "reembedded", "rebuilt")} == {
        "shards": 2, "cubes": 2, "vectors": n, "documents": n, "reembedded": n, "rebuilt": ["s0", "s1"]}
    assert report["rate"] > 0 and report["seconds"] >= report["embed_seconds"] > 0

    assert index_answers(paths, encoder) == before
    for cube in CUBES:
        now = stored_vectors(paths, cube)
        assert now.keys() == truth[cube].keys()
        for memory_id, (text, vector) in now.items():
            assert np.abs(vector - encoder.encode([text])[0]).max() < 1e-5, (cube, memory_id)
