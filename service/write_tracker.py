"""Read-your-writes: requests wait here until the pipeline has made their intake entries final.

Two listeners of the pipeline driver's completions make it hold (service/runtime.py composes them):
ReaderRefresh marks the shard's readers stale before the entries are marked final in the intake log,
and WriteTracker wakes the waiting requests after, so a woken request finds its write searchable.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Protocol

from actors.pipeline_driver import Completion
from storage.intake_log import IntakeLog

FINAL = ("done", "failed")
_Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future]


class _ShardReaders(Protocol):
    def mark_dirty(self, shard: str) -> None: ...


class ReaderRefresh:
    """Marks a shard's search readers stale when a batch lands there; they reopen on the next search."""

    def __init__(self, readers: _ShardReaders) -> None:
        self._readers = readers

    def completed(self, completion: Completion) -> None:
        self._readers.mark_dirty(completion.shard)


class WriteTracker:
    def __init__(self, intake: IntakeLog) -> None:
        self._intake = intake
        self._lock = threading.Lock()
        self._waiters: dict[int, list[_Waiter]] = {}

    def completed(self, completion: Completion) -> None:
        """Called from the driver thread when a batch is final."""
        with self._lock:
            woken = [w for seq in (*completion.done, *completion.failed) for w in self._waiters.pop(seq, [])]
        for loop, future in woken:
            loop.call_soon_threadsafe(_set, future)

    async def wait(self, seqs: Sequence[int], timeout: float) -> dict[int, str]:
        """Final state per seq ('done' | 'failed'), or 'pending' for those still going at timeout."""
        if not seqs:
            return {}
        loop = asyncio.get_running_loop()
        mine: dict[int, _Waiter] = {seq: (loop, loop.create_future()) for seq in seqs}
        with self._lock:
            for seq, waiter in mine.items():
                self._waiters.setdefault(seq, []).append(waiter)
        # Entries that finished before we registered would never wake us: look them up once.
        for seq, state in (await asyncio.to_thread(self._intake.state_of, seqs)).items():
            if state in FINAL:
                _set(mine[seq][1])
        try:
            await asyncio.wait_for(asyncio.gather(*(w[1] for w in mine.values())), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                for seq, waiter in mine.items():
                    left = [w for w in self._waiters.get(seq, []) if w is not waiter]
                    if left:
                        self._waiters[seq] = left
                    else:
                        self._waiters.pop(seq, None)
        return await asyncio.to_thread(self._intake.state_of, seqs)


def _set(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
