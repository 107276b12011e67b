"""service/prefetch.py on a real runtime: a write predicts a search of its cube, one explicit prefetch
step warms the cube and holds its memories ready, a search then answers from them exactly as the full
path does, and a write that lands drops them. No waiting on the background thread: the step is run
here, and the assertions are about what it predicted and prepared."""

from __future__ import annotations

from pipeline.access import Caller
from pipeline.filters import SearchFilter
from service.hybrid_search import SearchRequest, SearchService
from service.memories import NewMemory
from service.runtime import Runtime
from tests.service.conftest import run

AGENT = Caller("prefetch-probe")
TURNS = ["Caroline went to the support group on Tuesday", "Melanie painted a lake at sunrise",
         "they talked about adopting a dog", "Caroline plans to study counselling"]


def answer(result: dict) -> list[tuple[str, float]]:
    return [(r["id"], round(r["score"], 4)) for r in result["results"]]


def full_path(rt: Runtime) -> SearchService:
    return SearchService(rt.settings, rt.access, rt.read, rt.embedder, on_search=lambda agent, cubes: None)


def test_a_write_predicts_its_cube_one_step_holds_it_ready_and_a_hit_answers_as_the_full_path(runtime: Runtime):
    rt, prefetcher = runtime, runtime.prefetcher
    assert prefetcher is not None
    for i, turn in enumerate(TURNS):
        run(rt.memories.add(AGENT, NewMemory(turn, kind="message", id=f"pf-{i}"), wait=i == len(TURNS) - 1))
    cube = rt.access.own_cube(AGENT).id

    prefetcher.step()  # ships the writes to the actor, which predicts this cube
    texts = dict(__import__("ray").get(rt.actors.prefetch.plan_memories.remote([])))
    assert TURNS[-1] in texts[cube]  # the last turn is one of the predicted queries
    assert rt.read.is_hot(cube) and cube in prefetcher.held()  # warmed, and its memories held ready

    hits, misses = prefetcher.hits, prefetcher.misses
    query = SearchRequest("when did Caroline go to the support group")
    ready = rt.search.search(AGENT, query)
    assert (prefetcher.hits, prefetcher.misses) == (hits + 1, misses)
    assert answer(ready) == answer(full_path(rt).search(AGENT, query))
    assert ready["results"][0]["id"] == "pf-0"

    filtered = SearchRequest("Melanie", filter=SearchFilter(kinds=frozenset({"message"})))
    rt.search.search(AGENT, filtered)  # a filtered search is never answered from a pool
    assert (prefetcher.hits, prefetcher.misses) == (hits + 1, misses + 1)

    held = prefetcher._pools[cube]
    run(rt.memories.add(AGENT, NewMemory("Caroline adopted a dog named Rex", kind="message", id="pf-new"), wait=True))
    assert prefetcher._pools.get(cube) is not held  # the write that landed dropped the pool it made stale
    fresh = rt.search.search(AGENT, SearchRequest("the dog named Rex"))
    assert fresh["results"][0]["id"] == "pf-new"  # read-your-writes holds, hit or miss

    # A feedback changes only the cube file (no index row), and still drops the pool: a hit after it
    # ranks with the new feedback, as the full path does.
    prefetcher.step()
    held = prefetcher._pools[cube]
    run(rt.feedback.feedback(AGENT, "pf-1", "useful", None, None, None))
    assert prefetcher._pools.get(cube) is not held
    prefetcher.step()
    after = rt.search.search(AGENT, SearchRequest("Melanie painted a lake"))
    assert after["results"][0]["scores"]["feedback"] == 1
    assert answer(after) == answer(full_path(rt).search(AGENT, SearchRequest("Melanie painted a lake")))

    scraped = rt.metrics.render().decode()
    assert f"memos_prefetch_hits_total {float(prefetcher.hits)}" in scraped
    assert f"memos_prefetch_misses_total {float(prefetcher.misses)}" in scraped
