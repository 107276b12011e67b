"""A second real server with API keys, so authentication is on (the shared `server` runs without)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from api.server_process import ServerProcess, start_server
from storage.api_keys import ApiKeys
from storage.paths import DataPaths

AGENTS = ("alice", "bob", "carol", "dave")


@dataclass
class AuthServer:
    server: ServerProcess
    keys: dict[str, str]  # agent -> key; "ops" holds an admin key

    def as_(self, agent: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=60,
                            headers={"Authorization": f"Bearer {self.keys[agent]}"})


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    data = tmp_path_factory.mktemp("auth") / "data"
    paths = DataPaths(data)
    paths.ensure()
    store = ApiKeys(paths.registry_db)
    keys = {agent: store.create(agent, admin=False)[1] for agent in AGENTS}
    keys["ops"] = store.create("ops", admin=True)[1]
    store.close()
    proc = start_server(data)
    try:
        yield AuthServer(proc, keys)
    finally:
        proc.stop()
