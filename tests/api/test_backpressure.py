"""Back-pressure reaches clients: a real server with a tiny intake bound refuses writes with 429 and
Retry-After while its backlog is full, on the accept fast path and the routes alike, takes them
again once the pipeline has drained it, and loses nothing it acknowledged.

The pipeline is held back by the setting that already exists for it: an idle dispatcher lingers
`batch_linger_ms` after the first write so a burst forms one batch, so for those seconds every
acknowledged write stays in the backlog and the bound is reached by a few sequential writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.server_process import ServerProcess, start_server
from memos_client import BacklogFull, Memos, Retry

BOUND = 4


@pytest.fixture(scope="module")
def held_back(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("backpressure") / "data", intake_backlog_max=str(BOUND),
                        batch_linger_ms="4000")
    try:
        yield proc
    finally:
        proc.stop()


def refused(response) -> bool:
    return (response.status_code == 429 and response.json()["error"]["code"] == "backlog_full"
            and int(response.headers["retry-after"]) >= 1)


def test_a_full_backlog_refuses_writes_with_retry_after_until_it_drains_and_loses_nothing(held_back):
    with held_back.client("bp") as c:
        health = c.get("/v1/health").json()
        assert (health["backlog_max"], health["refusing_writes"]) == (BOUND, False)
        accepted = [c.post("/v1/memories", json={"id": f"bp-{i}", "content": f"note number {i} about tulips"})
                    for i in range(BOUND)]
        assert [r.status_code for r in accepted] == [202] * BOUND  # the fast path, while the pipeline lingers

        health = c.get("/v1/health").json()
        assert health["refusing_writes"] is True and health["backlog"] >= BOUND and health["backlog_max"] == BOUND
        fast = c.post("/v1/memories", json={"id": "bp-late", "content": "one too many"})
        routed = c.post("/v1/memories?wait=false", json={"id": "bp-late", "content": "one too many"})
        batch = c.post("/v1/memories/batch", json={"items": [{"id": "bp-batch", "content": "a batch item"}]})
        episode = c.post("/v1/episodes", json={"task": "plant the tulips"})
        for answer in (fast, routed, batch, episode):
            assert refused(answer), (answer.status_code, answer.text)
        assert c.get("/v1/memories/bp-late").status_code == 404  # a refused write wrote nothing

    # The SDK waits the Retry-After and tries again; once the lingering batch is stored, it is taken.
    with Memos(held_back.url, agent="bp", retry=Retry(attempts=40, max_retry_after_s=5)) as sdk:
        late = sdk.add("one too many, taken once the backlog drained", memory_id="bp-late", wait=True)
        assert late.id == "bp-late"
    with Memos(held_back.url, agent="bp", retry=Retry(attempts=1)) as sdk:
        assert sdk.health().refusing_writes is False
        stored = {m.id for m in sdk.iter_memories()}
    assert stored == {f"bp-{i}" for i in range(BOUND)} | {"bp-late"}  # every 202 kept, nothing refused stored


def test_the_sdk_raises_backlog_full_once_its_retries_run_out(held_back):
    with Memos(held_back.url, agent="bp-sdk", retry=Retry(attempts=1)) as sdk:
        for i in range(BOUND):
            sdk.add(f"a write that lingers {i}")
        with pytest.raises(BacklogFull) as raised:
            sdk.add("refused")
    assert raised.value.status == 429 and raised.value.retry_after is not None and raised.value.retry_after >= 1
