"""service/memories.py: batches waited on answer with every item's final status.

Regression (issue 12): `POST /v1/memories/batch?wait=true` answered `done` while its items still
said `queued`.
"""

from __future__ import annotations

import asyncio

from pipeline.access import Caller
from service.memories import NewMemory
from service.runtime import Runtime
from tests.service.conftest import run

ALICE, BOB = Caller("batch-alice"), Caller("batch-bob")


def test_a_waited_batch_says_done_exists_for_each_item_and_writes_a_repeated_id_once(runtime: Runtime):
    run(runtime.memories.add(ALICE, NewMemory("stored before the batch", id="bw-old"), wait=True))
    items = [NewMemory("first new note", id="bw-1"), NewMemory("second new note", id="bw-2"),
             NewMemory("first new note, sent again", id="bw-1"), NewMemory("stored before, sent again", id="bw-old")]
    out = run(runtime.memories.add_batch(ALICE, items, wait=True))
    assert out == {"job_id": out["job_id"], "status": "done", "accepted": 2, "items": [
        {"id": "bw-1", "status": "done"}, {"id": "bw-2", "status": "done"},
        {"id": "bw-1", "status": "done"}, {"id": "bw-old", "status": "exists"},
    ]}
    assert runtime.memories.get(ALICE, "bw-1")["content"] == "first new note"
    job = runtime.jobs.get(ALICE, out["job_id"])
    assert (job["kind"], job["status"], job["total"], job["done"]) == ("batch", "done", 2, 2)


def test_a_batch_not_waited_on_says_queued_for_each_new_item(runtime: Runtime):
    out = run(runtime.memories.add_batch(ALICE, [NewMemory("not waited on", id="bq-1")], wait=False))
    assert out == {"job_id": out["job_id"], "status": "queued", "accepted": 1, "items": [{"id": "bq-1", "status": "queued"}]}
    run(runtime.ops.settle(runtime.access.own_cube(ALICE).id, "bq-1"))


def test_a_waited_batch_repeating_a_queued_write_waits_for_that_write(runtime: Runtime):
    async def batch_while_the_earlier_write_is_queued() -> dict:
        runtime.driver.pause()
        try:
            await runtime.memories.add(ALICE, NewMemory("queued by an earlier job", id="bp-1"), wait=False)
            batch = asyncio.create_task(runtime.memories.add_batch(
                ALICE, [NewMemory("queued by an earlier job", id="bp-1"), NewMemory("new in this batch", id="bp-2")],
                wait=True))
            await asyncio.sleep(0.2)  # the batch has seen bp-1 queued and is waiting
        finally:
            runtime.driver.resume()
        return await batch

    out = run(batch_while_the_earlier_write_is_queued())
    assert out == {"job_id": out["job_id"], "status": "done", "accepted": 1, "items": [
        {"id": "bp-1", "status": "done"}, {"id": "bp-2", "status": "done"},
    ]}


def test_a_batch_into_a_cube_deleted_before_it_was_written_fails_item_by_item(runtime: Runtime):
    cube = runtime.cubes.create(BOB, "about to go", "")["id"]

    async def batch_then_delete_the_cube() -> dict:
        runtime.driver.pause()  # deleting the cube resumes it
        batch = asyncio.create_task(runtime.memories.add_batch(
            BOB, [NewMemory("never written", id="bd-1", cube=cube), NewMemory("nor this", id="bd-2", cube=cube)],
            wait=True))
        while not runtime.intake.pending_ops(cube, "bd-2"):  # accepted: durably in the intake log
            await asyncio.sleep(0.01)
        await asyncio.to_thread(runtime.cubes.delete, BOB, cube)
        return await batch

    out = run(batch_then_delete_the_cube())
    assert out == {"job_id": out["job_id"], "status": "failed", "accepted": 2, "items": [
        {"id": "bd-1", "status": "failed"}, {"id": "bd-2", "status": "failed"},
    ]}
    job = runtime.jobs.get(BOB, out["job_id"])
    assert (job["status"], job["done"], job["failed"], [e["code"] for e in job["errors"]]) == (
        "failed", 0, 2, ["not_found", "not_found"])
