"""Three real servers on loopback for the team tests: a hub and two members, each with its own
data dir and port, started once for the module (each one starts its own Ray)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.server_process import ServerProcess, start_server

HUB_NAME = "loopback-hub"
FAST = {"world_model": "false", "team_sync_interval_s": "0", "prefetch": "false"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    root = tmp_path_factory.mktemp("team")
    specs = {
        "hub": {**FAST, "hub": "true", "hub_name": HUB_NAME, "team_interfaces": "127.0.0.1", "team_page_size": "1000"},
        "alice": FAST,
        "bob": FAST,
    }
    started: dict[str, ServerProcess] = {}
    try:
        # One after the other: three Ray heads starting at once on a loaded machine time out.
        for name, spec in specs.items():
            started[name] = _start(root / name, spec)
        yield started
    finally:
        for server in started.values():
            server.stop()


def _start(folder, spec: dict[str, str]) -> ServerProcess:
    """A server, started again once if its Ray head timed out coming up (it does on an overloaded machine)."""
    try:
        return start_server(folder / "data", timeout=300, **spec)
    except RuntimeError as exc:
        if "timed out during startup" not in str(exc):
            raise
        return start_server(folder / "data", timeout=300, **spec)
