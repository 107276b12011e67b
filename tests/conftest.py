"""Shared fixtures: real settings on temp dirs, the real embedding model, one real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.server_process import ServerProcess, start_server
from configs import Settings
from pipeline.encoder import OnnxEncoder, TokenCounter


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> OnnxEncoder:
    """The server's default engine (ONNX Runtime) on the real model."""
    return OnnxEncoder("all-MiniLM-L6-v2", tmp_path_factory.mktemp("models"), threads=2)


@pytest.fixture(scope="session")
def count_tokens() -> TokenCounter:
    return TokenCounter("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the HTTP tests; each test uses its own agent ids, so tests stay apart."""
    proc = start_server(tmp_path_factory.mktemp("server") / "data")
    try:
        yield proc
    finally:
        proc.stop()
