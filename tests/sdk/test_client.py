"""The SDK (memos_client) against a real server: every endpoint through a typed method, each answer
read by the server's own model and checked against the raw JSON (the same keys, values and order),
typed errors, paging, streaming export, the async client, and retries against a real loopback
server that answers 503 and 429."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import uvicorn
from pydantic import TypeAdapter

from api.server_process import free_port
from memos_client import (
    ApiError, AsyncMemos, Conflict, Forbidden, Invalid, InvalidAgent, InvalidParams, MalformedRequest, Memos,
    MethodNotAllowed, NotFound, RateLimited, Retry, TooLarge, Unavailable, Unreachable,
)
from memos_client.models import (
    Accepted, AuditPage, BatchAccepted, CubeOut, EpisodeOut, FeedbackOut, Health, Job, LinkOut, MemberOut, Memory,
    MemoryGraph, MemoryHistory, MemoryPage, RenderedSkill, SearchOut, SkillOut, SkillTool, Timeline,
)
from memos_client.transport import retry_after


def faithful(kind: Any, body: Any) -> Any:
    """Read `body` as `kind` and require that the model kept all of it: dumped again it is the same
    JSON, key for key and in order (so a field the server adds without the model fails here)."""
    adapter = TypeAdapter(kind)
    value = adapter.validate_python(body)
    assert json.dumps(adapter.dump_python(value, mode="json", exclude_unset=True)) == json.dumps(body)
    return value


@pytest.fixture
def sdk(server, request) -> Iterator[Memos]:
    # A fresh agent per test keeps tests apart on the shared server.
    with Memos(server.url, agent=f"sdk-{request.node.name[5:45]}") as client:
        yield client


def deploy(m: Memos, service: str, tag: str) -> EpisodeOut:
    """One successful deploy episode, as an agent records it (five of them crystallize a skill)."""
    ep = m.open_episode(f"Deploy the {service} service with tag {tag}")
    calls = [{"name": "build_image", "arguments": {"service": service, "tag": tag}, "status": "ok"},
             {"name": "run_tests", "arguments": {"service": service}, "result": "42 passed", "status": "ok"},
             {"name": "rollout", "arguments": {"service": service, "tag": tag}, "status": "ok"}]
    m.add_batch([{"tool": call, "episode": ep.id, "id": f"{ep.id}-{i}"} for i, call in enumerate(calls)])
    return m.close_episode(ep.id, "success")


# --- every endpoint, typed ------------------------------------------------------------------------


def test_memories_through_typed_methods_read_every_field_the_server_sends(sdk: Memos):
    queued = sdk.add("Alice keeps her bike in the blue shed", tags=["home"], metadata={"speaker": "alice"})
    assert isinstance(queued, Accepted) and queued.status == "queued" and queued.job_id.startswith("job-")
    first = sdk.add("Alice waters the orchids on Sundays", memory_id="orchids", wait=True)
    assert isinstance(first, Memory) and (first.id, first.status, first.version) == ("orchids", "active", 1)
    again = sdk.add("something else", memory_id="orchids")
    assert isinstance(again, Accepted) and (again.status, again.job_id) == ("exists", None)

    got = sdk.get("orchids")
    assert got == first
    faithful(Memory, sdk.request("GET", "/v1/memories/orchids").body)

    updated = sdk.update("orchids", content="Alice waters the orchids on Saturdays", version=1)
    assert isinstance(updated, Memory) and updated.version == 2
    with pytest.raises(Conflict) as stale:
        sdk.update("orchids", tags=["plants"], version=1)
    assert stale.value.status == 409

    page = sdk.list_memories(limit=10)
    assert isinstance(page, MemoryPage) and "orchids" in [m.id for m in page.items]
    faithful(MemoryPage, sdk.request("GET", "/v1/memories", params={"limit": 10}).body)

    timeline = sdk.timeline("orchids", before=2, after=2)
    assert isinstance(timeline, Timeline) and timeline.items[timeline.position].id == "orchids"
    faithful(Timeline, sdk.request("GET", "/v1/memories/orchids/timeline").body)

    history = sdk.history("orchids")
    assert isinstance(history, MemoryHistory) and [v.version for v in history.versions] == [1, 2]
    assert history.versions[-1].status == "active" and history.versions[0].status is None
    faithful(MemoryHistory, sdk.request("GET", "/v1/memories/orchids/history").body)

    deleted = sdk.delete("orchids")
    assert deleted is None
    with pytest.raises(NotFound):
        sdk.get("orchids")


def test_search_answers_in_the_search_model(sdk: Memos):
    sdk.add("The staging database lives on host db-7", tags=["infra"], wait=True)
    found = sdk.search("where is the staging database", top_k=3, tags=["infra"], ranking={"mmr_lambda": 0.9})
    assert isinstance(found, SearchOut) and found.results[0].content == "The staging database lives on host db-7"
    assert found.results[0].why.bm25 is not None and set(found.timings_ms) >= {"embed", "vector", "bm25", "fuse"}
    raw = sdk.request("POST", "/v1/search", json={"query": "where is the staging database", "top_k": 3}).body
    faithful(SearchOut, raw)
    assert [h["id"] for h in raw["results"]][:1] == [found.results[0].id]


def test_episodes_crystallize_a_skill_the_sdk_lists_renders_and_links(sdk: Memos):
    episodes = [deploy(sdk, service, tag) for service, tag in
                [("api", "v1.2"), ("web", "v3.0"), ("billing", "v0.9"), ("search", "v2.1"), ("auth", "v5.5")]]
    assert all(isinstance(e, EpisodeOut) and e.status == "closed" for e in episodes)
    assert sdk.get_episode(episodes[0].id) == episodes[0]
    faithful(EpisodeOut, sdk.request("GET", f"/v1/episodes/{episodes[0].id}").body)

    (skill,) = sdk.list_skills()
    assert isinstance(skill, SkillOut) and skill.runs == 5 and [s.tool for s in skill.steps] == [
        "build_image", "run_tests", "rollout"]
    faithful(list[SkillOut], sdk.request("GET", "/v1/skills").body)
    assert sdk.get_skill(skill.id, version=1) == skill
    tool = sdk.skill_tool(skill.id)
    assert isinstance(tool, SkillTool) and tool.mcp["inputSchema"] == tool.openai["function"]["parameters"]
    faithful(SkillTool, sdk.request("GET", f"/v1/skills/{skill.id}/tool").body)
    rendered = sdk.render_skill(skill.id, {"service": "cart", "tag": "v9.9"})
    assert isinstance(rendered, RenderedSkill)
    assert {"tool": "rollout", "arguments": {"service": "cart", "tag": "v9.9"}} in [
        s.model_dump() for s in rendered.steps]
    with pytest.raises(InvalidParams) as bad:
        sdk.render_skill(skill.id, {"service": 7})
    assert (bad.value.status, bad.value.code) == (422, "invalid_params") and isinstance(bad.value, Invalid)

    trace = episodes[0].traces[0]
    useful = sdk.feedback(trace, "useful", note="worked first time")
    assert isinstance(useful, FeedbackOut) and (useful.status, useful.memory.feedback) == ("done", 1)
    linked = sdk.link(trace, episodes[1].traces[0], "related", metadata={"why": "same pipeline"})
    assert isinstance(linked, LinkOut) and (linked.type, linked.status) == ("related", "done")
    graph = sdk.graph(trace, depth=1, types=["related", "part_of_episode"])
    assert isinstance(graph, MemoryGraph) and {n.id for n in graph.nodes} >= {trace, episodes[1].traces[0]}
    assert {n.type for n in graph.nodes} >= {"memory", "episode"}
    faithful(MemoryGraph, sdk.request("GET", f"/v1/memories/{trace}/graph").body)
    faithful(MemoryHistory, sdk.request("GET", f"/v1/memories/{trace}/history").body)


def test_cubes_members_mounts_and_audit_with_two_agents(server):
    with Memos(server.url, agent="sdk-cube-owner") as owner, Memos(server.url, agent="sdk-cube-reader") as reader:
        cube = owner.create_cube("sdk runbooks", description="how we operate")
        assert isinstance(cube, CubeOut) and (cube.kind, cube.role, cube.owner) == ("kb", "admin", "sdk-cube-owner")
        assert owner.get_cube(cube.id).hot is False
        faithful(CubeOut, owner.request("GET", f"/v1/cubes/{cube.id}").body)
        assert owner.update_cube(cube.id, name="sdk runbooks v2").name == "sdk runbooks v2"
        note = owner.add("Rotate the TLS certs on the first Monday", cube=cube.id, wait=True)

        with pytest.raises(NotFound):
            reader.search("TLS certs", cubes=[cube.id])
        member = owner.grant(cube.id, "sdk-cube-reader", "read")
        assert isinstance(member, MemberOut) and member.role == "read"
        assert [m.agent for m in owner.members(cube.id)] == ["sdk-cube-owner", "sdk-cube-reader"]
        faithful(list[MemberOut], owner.request("GET", f"/v1/cubes/{cube.id}/members").body)
        assert reader.mount(cube.id).mounted is True and [c.id for c in reader.mounts()] == [cube.id]
        assert reader.search("when do we rotate TLS certs").results[0].id == note.id
        with pytest.raises(Forbidden) as forbidden:
            reader.add("reader was here", cube=cube.id)
        assert forbidden.value.status == 403
        copy = reader.share(note.id, to="agent-sdk-cube-reader", from_cube=cube.id)
        assert copy.source_ids == [note.id] and copy.cube == "agent-sdk-cube-reader"
        assert {c.id for c in reader.list_cubes()} == {"agent-sdk-cube-reader", cube.id}
        faithful(list[CubeOut], reader.request("GET", "/v1/cubes").body)
        reader.unmount(cube.id)
        owner.revoke(cube.id, "sdk-cube-reader")

        page = owner.audit(cube=cube.id, limit=2)
        assert isinstance(page, AuditPage) and len(page.events) == 2 and page.next_before is not None
        faithful(AuditPage, owner.request("GET", "/v1/audit", params={"cube": cube.id}).body)
        every = list(owner.iter_audit(cube=cube.id, page_size=2))  # paged two at a time
        assert [e.seq for e in every] == [e.seq for e in owner.audit(cube=cube.id, limit=1000).events]
        assert [e.action for e in every][:2] == ["member.revoke", "cube.unmount"]

        owner.add("the owner's own note", wait=True)
        with pytest.raises(Conflict):
            owner.delete_cube("agent-sdk-cube-owner")  # a private cube is never deleted
        owner.delete_cube(cube.id)
        with pytest.raises(NotFound):
            owner.get_cube(cube.id)


def test_iter_memories_pages_through_every_memory_in_order(sdk: Memos):
    accepted = sdk.add_batch([{"content": f"page item {i}", "id": f"page-{i}"} for i in range(7)], wait=True)
    assert isinstance(accepted, BatchAccepted) and (accepted.status, accepted.accepted) == ("done", 7)
    whole = [m.id for m in sdk.list_memories(tier="trace", limit=100).items]
    paged = [m.id for m in sdk.iter_memories(tier="trace", page_size=3)]  # three pages
    assert paged == whole and sorted(paged) == [f"page-{i}" for i in range(7)]


def test_export_streams_jsonl_and_parquet_to_files_and_streams(sdk: Memos, tmp_path):
    ids = [sdk.add(f"exported note {i}", memory_id=f"exp-{i}", wait=True).id for i in range(3)]
    cube = sdk.get(ids[0]).cube
    path = tmp_path / "cube.jsonl"
    written = sdk.export_to(cube, path)
    lines = path.read_bytes().splitlines()
    assert written == path.stat().st_size and sorted(json.loads(line)["id"] for line in lines) == ids
    assert not (tmp_path / "cube.jsonl.part").exists()
    assert sorted(m.id for m in sdk.iter_export(cube)) == ids and all(isinstance(m, Memory)
                                                                      for m in sdk.iter_export(cube))
    parquet = io.BytesIO()
    assert sdk.export_to(cube, parquet, format="parquet") == len(parquet.getvalue())
    assert parquet.getvalue()[:4] == b"PAR1"
    with pytest.raises(NotFound):
        sdk.export_to("kb-01M8ZZZZZZZZZZZZZZZZZZZZZZ", tmp_path / "nothing.jsonl")
    assert not (tmp_path / "nothing.jsonl").exists() and not (tmp_path / "nothing.jsonl.part").exists()


def test_jobs_reindex_and_health(sdk: Memos):
    accepted = sdk.add_batch([{"content": "job one"}, {"content": "job two"}])
    job = sdk.wait_for_job(accepted.job_id, timeout_s=120)
    assert isinstance(job, Job) and (job.kind, job.status, job.done) == ("batch", "done", 2)
    faithful(Job, sdk.request("GET", f"/v1/jobs/{accepted.job_id}").body)
    started = sdk.reindex()
    assert started.status == "queued" and sdk.wait_for_job(started.job_id, timeout_s=300).status == "done"
    health = sdk.health()
    assert isinstance(health, Health) and health.status == "ok"


# --- typed errors --------------------------------------------------------------------------------


def test_each_error_answer_is_raised_as_its_own_class_with_code_status_and_request_id(server, sdk: Memos):
    cases = [
        (lambda: sdk.get("no-such-memory"), NotFound, 404, "not_found"),
        (lambda: sdk.add("x", kind="poem"), Invalid, 422, "invalid"),
        (lambda: sdk.request("POST", "/v1/search", json=[1, 2]), MalformedRequest, 400, "malformed_request"),
        (lambda: sdk.add("x" * 40_000), TooLarge, 413, "too_large"),
        (lambda: sdk.request("PUT", "/v1/search"), MethodNotAllowed, 405, "method_not_allowed"),
    ]
    for call, cls, status, code in cases:
        with pytest.raises(cls) as caught:
            call()
        err = caught.value
        assert isinstance(err, ApiError) and (err.status, err.code) == (status, code), err
        assert err.message and str(err) == f"{code}: {err.message}"
        assert err.request_id is not None and err.request_id.startswith("sdk-")
    with Memos(server.url, agent="../evil") as evil, pytest.raises(InvalidAgent) as bad_agent:
        evil.list_memories()
    assert bad_agent.value.status == 400


def test_a_server_that_is_not_there_is_unreachable():
    with Memos(f"http://127.0.0.1:{free_port()}", retry=Retry(attempts=1)) as nobody:
        with pytest.raises(Unreachable) as caught:
            nobody.health()
    assert (caught.value.code, caught.value.status) == ("unreachable", 0)
    assert caught.value.message.startswith("cannot reach MemOS at http://127.0.0.1:")


# --- the async client ----------------------------------------------------------------------------


def test_the_async_client_reads_the_same_answers(server):
    async def run() -> None:
        async with AsyncMemos(server.url, agent="sdk-async") as m:
            stored = await m.add("async-note: the first", memory_id="async-1", wait=True)
            assert isinstance(stored, Memory) and await m.get("async-1") == stored
            await m.add_batch([{"content": f"async-note: page {i}"} for i in range(4)], wait=True)
            paged = [x.id async for x in m.iter_memories(tier="trace", page_size=2)]
            assert paged == [x.id for x in (await m.list_memories(tier="trace", limit=100)).items]
            assert len(paged) == 5
            exported = [x async for x in m.iter_export("agent-sdk-async")]
            assert {x.id for x in exported if x.tier == "trace"} == set(paged)
            found = await m.search("async-note the first")
            assert found.results[0].id == "async-1"
            with pytest.raises(NotFound):
                await m.get("async-missing")
            reply = await m.request("GET", "/v1/memories/async-1")
            assert reply.status == 200 and reply.body["id"] == "async-1"

    asyncio.run(run())


def test_both_clients_offer_the_same_methods_with_the_same_parameters():
    import inspect

    def public(cls: type) -> dict[str, list[tuple[str, Any, Any]]]:
        return {name: [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
                for name, fn in vars(cls).items() if callable(fn) and not name.startswith("_")}

    sync, asynchronous = public(Memos), public(AsyncMemos)
    assert sync == asynchronous
    assert len(sync) >= 40


# --- retries, against a real loopback server that is not ready yet -------------------------------


class NotReady:
    """An ASGI app answering its first `failures` requests with `status` (and Retry-After if given),
    then what a healthy MemOS answers on /v1/health; it notes when each request came, and its id."""

    def __init__(self, failures: int, status: int = 503, retry_after: str | None = None) -> None:
        self.failures, self.status, self.retry_after = failures, status, retry_after
        self.arrivals: list[tuple[float, bytes | None]] = []

    async def __call__(self, scope, receive, send) -> None:
        self.arrivals.append((time.monotonic(), dict(scope["headers"]).get(b"x-request-id")))
        if len(self.arrivals) <= self.failures:
            code = "unavailable" if self.status == 503 else "rate_limited"
            body = json.dumps({"error": {"code": code, "message": "not now"}}).encode()
            headers = [(b"content-type", b"application/json")]
            if self.retry_after is not None:
                headers.append((b"retry-after", self.retry_after.encode()))
            status = self.status
        else:
            body = json.dumps({"status": "ok", "pending": 0, "in_flight_batches": 0, "batches_done": 0,
                               "uptime_s": 1.0, "hot_vectors_mb": 0.0, "warming": 0}).encode()
            headers, status = [(b"content-type", b"application/json")], 200
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def gaps(self) -> list[float]:
        times = [t for t, _ in self.arrivals]
        return [b - a for a, b in zip(times, times[1:])]


@pytest.fixture
def not_ready() -> Iterator[Callable[[NotReady], str]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: NotReady) -> str:
        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not srv.started:
            assert time.monotonic() < deadline, "the loopback server did not start"
            time.sleep(0.01)
        servers.append((srv, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for srv, thread in servers:
        srv.should_exit = True
        thread.join(5)


def test_a_503_with_retry_after_is_retried_after_exactly_that_wait(not_ready):
    app = NotReady(failures=2, retry_after="1")
    with Memos(not_ready(app), retry=Retry(attempts=4)) as m:
        assert m.health().status == "ok"
    assert len(app.arrivals) == 3 and all(gap >= 0.95 for gap in app.gaps()), app.gaps()
    ids = {rid for _, rid in app.arrivals}
    assert len(ids) == 1 and next(iter(ids)).startswith(b"sdk-")  # one request, tried three times


def test_a_429_without_retry_after_backs_off_doubling(not_ready):
    app = NotReady(failures=2, status=429)
    with Memos(not_ready(app), retry=Retry(attempts=3, backoff_s=0.2, max_backoff_s=5)) as m:
        assert m.health().status == "ok"
    first, second = app.gaps()
    assert first >= 0.1 and second >= 0.2  # 0.2 s then 0.4 s, each with up to half of it taken off as jitter


def test_retries_give_up_after_the_last_attempt_with_the_typed_error(not_ready):
    app = NotReady(failures=10, status=429, retry_after="0")
    with Memos(not_ready(app), retry=Retry(attempts=3)) as m, pytest.raises(RateLimited) as caught:
        m.health()
    assert len(app.arrivals) == 3 and (caught.value.status, caught.value.retry_after) == (429, 0.0)


def test_a_retry_after_longer_than_the_limit_is_raised_at_once(not_ready):
    app = NotReady(failures=1, retry_after="120")
    with Memos(not_ready(app), retry=Retry(max_retry_after_s=5)) as m, pytest.raises(Unavailable) as caught:
        m.health()
    assert len(app.arrivals) == 1 and caught.value.retry_after == 120.0


def test_the_async_client_retries_the_same_way(not_ready):
    app = NotReady(failures=1, retry_after="1")
    url = not_ready(app)

    async def run() -> str:
        async with AsyncMemos(url) as m:
            return (await m.health()).status

    assert asyncio.run(run()) == "ok"
    assert len(app.arrivals) == 2 and app.gaps()[0] >= 0.95


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    soon = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert retry_after("2.5") == 2.5
    assert 25 < retry_after(soon) <= 30
    assert retry_after("soon") is None and retry_after(None) is None
