"""Group commit for the intake log: concurrent requests share one synced transaction.

A request hands its rows to the committer thread and awaits a future; the thread takes everything
that queued up while the previous commit was syncing, commits it at once, and answers them all.
Under load this turns N fsyncs into one; alone, a request waits for exactly one commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.errors import Unavailable
from storage.disk_space import full_disk, is_disk_full
from storage.intake_log import IntakeEntry, IntakeLog

log = logging.getLogger(__name__)

MAX_GROUP = 5_000  # entries in one transaction


@dataclass
class _Request:
    jobs: Sequence[tuple[str, str, str, int]]
    entries: Sequence[IntakeEntry]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class GroupCommitter:
    def __init__(self, intake: IntakeLog, on_commit: Callable[[], None]) -> None:
        self._intake = intake
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="intake-commit", daemon=True)
        self._closed = False
        self.commits = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._closed = True
        self._queue.put(None)
        self._thread.join(10)

    async def submit(self, jobs: Sequence[tuple[str, str, str, int]], entries: Sequence[IntakeEntry]) -> list[int]:
        """Durably append; returns the entries' seqs once they are synced to disk."""
        if self._closed:
            raise Unavailable("server is shutting down")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Request(jobs, entries, future, loop))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            size = len(first.entries)
            while size < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(nxt)
                size += len(nxt.entries)
            self._commit(group)

    def _commit(self, group: list[_Request]) -> None:
        jobs = [j for r in group for j in r.jobs]
        entries = [e for r in group for e in r.entries]
        try:
            seqs = self._intake.append(jobs, entries)
        except Exception as exc:  # answer every waiter; nothing of this group was acknowledged
            log.exception("intake commit failed")
            for r in group:
                r.loop.call_soon_threadsafe(_fail, r.future, exc)
            return
        self.commits += 1
        at = 0
        for r in group:
            mine, at = seqs[at : at + len(r.entries)], at + len(r.entries)
            r.loop.call_soon_threadsafe(_resolve, r.future, mine)
        self._on_commit()


def _resolve(future: asyncio.Future, value: list[int]) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        # A full disk is the client's to know (507, retry once space is freed); nothing was acknowledged.
        error = full_disk("intake log") if is_disk_full(exc) else Unavailable(f"intake log could not be written: {exc}")
        future.set_exception(error)
