"""Shared fixtures: real settings on temp dirs, the real embedding model, one real server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.server_process import ServerProcess, start_server
from configs import Settings
from pipeline.encoder import OnnxEncoder, TokenCounter


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One ONNX export for the whole run, not one per data dir (about 14 s each on two cores, and
    most tests start a pipeline or a server on a data dir of their own): every Settings a test
    builds, and every server it starts, reads MEMOS_MODEL_CACHE_DIR."""
    with pytest.MonkeyPatch.context() as patch:
        if not os.environ.get("MEMOS_MODEL_CACHE_DIR"):
            patch.setenv("MEMOS_MODEL_CACHE_DIR", str(tmp_path_factory.mktemp("models")))
        yield Path(os.environ["MEMOS_MODEL_CACHE_DIR"])


@pytest.fixture(scope="session")
def encoder(model_cache: Path) -> OnnxEncoder:
    """The server's default engine (ONNX Runtime) on the real model."""
    return OnnxEncoder("all-MiniLM-L6-v2", model_cache, threads=2)


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
