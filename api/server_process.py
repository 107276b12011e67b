"""Start a `memos serve` subprocess on a loopback port and wait until it reports healthy.

The tests and the benchmarks both drive a real server this way. It runs in its own process
group, so a kill (a simulated crash) takes the Ray processes it started down with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

MEMOS = str(Path(sys.executable).with_name("memos"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    url: str
    port: int
    data_dir: Path
    proc: subprocess.Popen
    log_path: Path

    def client(self, agent: str | None = "default", timeout: float = 60.0) -> httpx.Client:
        headers = {"X-Agent-Id": agent} if agent is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a CLI subprocess aimed at this server."""
        return {**os.environ, "MEMOS_URL": self.url, "MEMOS_DATA_DIR": str(self.data_dir), **extra}

    def kill9(self) -> None:
        """A crash: SIGKILL to the server and everything it started (Ray included)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(45)
            except subprocess.TimeoutExpired:
                pass
        self.kill9()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


class PortTaken(RuntimeError):
    """The server found its port in use (it binds before starting anything, api/cli/serve.py)."""


def start_server(data_dir: Path, port: int | None = None, timeout: float = 180.0, **settings: str) -> ServerProcess:
    """A healthy server; on a port picked here, taken again by someone else before the bind, on another."""
    for attempt in range(3):
        try:
            return _start_once(data_dir, port or free_port(), timeout, settings)
        except PortTaken:
            if port is not None or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_once(data_dir: Path, port: int, timeout: float, settings: dict[str, str]) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"server-{port}.log"
    env = {
        **os.environ,
        "MEMOS_DATA_DIR": str(data_dir),
        "MEMOS_PORT": str(port),
        "MEMOS_HOST": "127.0.0.1",
        "MEMOS_RAY_OBJECT_STORE_MB": "256",
        **{f"MEMOS_{k.upper()}": str(v) for k, v in settings.items()},
    }
    log_file = log_path.open("ab")
    proc = subprocess.Popen(
        [MEMOS, "serve", "--log-level", "warning"],
        env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, proc, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            error = PortTaken if f"cannot listen on 127.0.0.1:{port}" in server.log() else RuntimeError
            raise error(f"server exited with {proc.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/v1/health", timeout=2).json().get("status") == "ok":
                return server
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"server did not become healthy in {timeout} s:\n{server.log()}")
