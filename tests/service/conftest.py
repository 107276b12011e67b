"""One real Runtime on a temp dir (local Ray, the real model, the real stores) to call services on."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from configs import Settings
from service.runtime import Runtime

T = TypeVar("T")


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    # A generous wait: the first writes of a fresh runtime also warm the model.
    settings = Settings(data_dir=tmp_path_factory.mktemp("runtime") / "data", ray_object_store_mb=256,
                        wait_timeout_s=120)
    rt = Runtime(settings)
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one service call to its end, as a request would on the server's event loop."""
    return asyncio.run(coro)
