"""Many nodes on one machine (ray.cluster_utils.Cluster): shard actors go to the node advertising
their shard's resource, the embed pool spreads over the nodes with CPUs, and killing the embed-only
node in the middle of an ingest loses no acknowledged write and stores none twice."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import apsw
import pytest
from ray._private import ray_constants
from ray.cluster_utils import Cluster

from actors.cluster import data_resources
from api.server_process import ServerProcess, start_server
from configs import Settings
from storage.paths import DataPaths
from storage.registry import shard_for

LOOPBACK = "127.0.0.1"
SINGLE_MACHINE = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR  # "0": Ray's single-machine mode
SHARD_RESOURCE = "memos_shard_{shard}"
AGENTS = {"ada": "s1", "cy": "s0"}  # where crc32 places each agent's cube with n_shards = 2
# Node death is noticed within about a second instead of Ray's default 30 s.
FAST_HEALTH = {"health_check_period_ms": 200, "health_check_failure_threshold": 3, "health_check_timeout_ms": 500}


@pytest.fixture(scope="module")
def loopback_only() -> Iterator[None]:
    """Every node, the server and their workers on 127.0.0.1: Ray's single-machine mode (as
    actors/cluster.py `connect` starts a local Ray) for this process and, by the environment, the
    server it starts. In cluster mode Ray would swap loopback for the machine's outward address."""
    saved = (ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(SINGLE_MACHINE))
    ray_constants.ENABLE_RAY_CLUSTER = False
    os.environ[SINGLE_MACHINE] = "0"
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved[0]
        if saved[1] is None:
            os.environ.pop(SINGLE_MACHINE, None)
        else:
            os.environ[SINGLE_MACHINE] = saved[1]


@pytest.fixture(scope="module")
def ray_cluster(loopback_only) -> Iterator[tuple[Cluster, dict]]:
    """head: shard s0's files, 2 CPUs; node b: shard s1's files, no CPU; node c: 1 CPU, no data."""
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "resources": {"memos_shard_s0": 1}, "node_ip_address": LOOPBACK,
        "object_store_memory": 128 * 1024 * 1024, "include_dashboard": False, "_system_config": FAST_HEALTH})
    nodes = {"head": cluster.head_node}
    nodes["b"] = cluster.add_node(num_cpus=0, resources={"memos_shard_s1": 1}, node_ip_address=LOOPBACK,
                                  object_store_memory=96 * 1024 * 1024)
    nodes["c"] = cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK, object_store_memory=96 * 1024 * 1024)
    cluster.wait_for_nodes()
    try:
        yield cluster, nodes
    finally:
        cluster.shutdown()


@pytest.fixture(scope="module")
def server(ray_cluster, tmp_path_factory) -> Iterator[ServerProcess]:
    cluster, _ = ray_cluster
    proc = start_server(tmp_path_factory.mktemp("cluster") / "data", ray_address=cluster.address,
                        ray_shard_resource=SHARD_RESOURCE, n_shards="2", embed_actors="2", world_model="false")
    try:
        yield proc
    finally:
        proc.stop()


def placement(cluster: Cluster) -> dict[str, str]:
    """Live actor name -> the node id it runs on, from the cluster's own tables."""
    out = {}
    for info in cluster.global_state.actor_table(None).values():
        if info["State"] == "ALIVE" and info["Name"]:
            out[info["Name"]] = info["Address"]["NodeID"]
    return out


def stored(server: ServerProcess, agent: str) -> list[str]:
    conn = apsw.Connection(str(DataPaths(server.data_dir).cube_db(f"agent-{agent}")), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [r[0] for r in conn.execute("SELECT content FROM memories WHERE kind = 'note'")]
    finally:
        conn.close()


def post(server: ServerProcess, agent: str, texts: list[str]) -> str:
    with server.client(agent) as c:
        r = c.post("/v1/memories/batch", json={"items": [{"content": t} for t in texts]})
        assert r.status_code == 202 and r.json()["accepted"] == len(texts), r.text
        return r.json()["job_id"]


def wait_done(server: ServerProcess, agent: str, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    with server.client(agent) as c:
        while time.monotonic() < deadline:
            job = c.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.2)
    raise AssertionError(f"job {job_id} not final after {timeout} s: {job}")


def test_shard_actors_sit_with_their_shard_and_embedders_spread(ray_cluster, server):
    cluster, nodes = ray_cluster
    assert {agent: shard_for(f"agent-{agent}", 2) for agent in AGENTS} == AGENTS
    where = placement(cluster)
    ids = {name: node.node_id for name, node in nodes.items()}
    for stage in ("write", "dedupe", "crystallize"):
        assert (where[f"{stage}-s0"], where[f"{stage}-s1"]) == (ids["head"], ids["b"]), stage
    # Node b has no CPU, so the pool (one CPU each) can only spread over the head and node c.
    assert {where["embed-0"], where["embed-1"]} == {ids["head"], ids["c"]}


def test_killing_a_worker_node_mid_ingest_loses_and_duplicates_nothing(ray_cluster, server):
    cluster, nodes = ray_cluster
    warm = {agent: post(server, agent, [f"{agent} warm-up note {i}" for i in range(4)]) for agent in AGENTS}
    assert all(wait_done(server, a, j)["status"] == "done" for a, j in warm.items())

    texts = {agent: [f"{agent} keeps fact number {i} about the ferry schedule" for i in range(300)] for agent in AGENTS}
    jobs = {agent: [post(server, agent, texts[agent][:150])] for agent in AGENTS}
    cluster.remove_node(nodes["c"], allow_graceful=False)  # embed-1's node, with batches in flight
    for agent in AGENTS:  # acknowledged while the pool is down to one node
        jobs[agent].append(post(server, agent, texts[agent][150:]))

    for agent, ids in jobs.items():
        for job_id in ids:
            job = wait_done(server, agent, job_id)
            assert (job["status"], job["failed"]) == ("done", 0), job
        got = stored(server, agent)
        assert sorted(got) == sorted([f"{agent} warm-up note {i}" for i in range(4)] + texts[agent])
    # The lost embedder came back on a node that is still there.
    where = placement(cluster)
    assert where["embed-1"] == nodes["head"].node_id


def test_shard_actors_ask_for_their_own_shards_resource(tmp_path):
    """The options behind the placement above, without Ray."""
    s = Settings(data_dir=tmp_path, ray_data_resource="memos_data", ray_shard_resource="memos_shard_{shard}")
    assert data_resources(s, "s3") == {"memos_data": 0.001, "memos_shard_s3": 0.001}
    assert data_resources(s, None) == {"memos_data": 0.001}
    assert data_resources(Settings(data_dir=tmp_path), "s0") == {}
    with pytest.raises(ValueError, match="must contain"):
        Settings(data_dir=tmp_path, ray_shard_resource="memos_shard")
