"""`memos serve` as a new user meets it: one line for a bad setting, a start that says what matters,
and nothing of ours listening beyond loopback (issue 12, "found while trying it as a new user would")."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from api.server_process import MEMOS, free_port


def run_memos(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([MEMOS, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [["serve"], ["ls"], ["keys", "ls"]])
def test_an_invalid_setting_is_one_line_on_stderr_and_exit_1(tmp_path, command):
    result = run_memos(*command, MEMOS_N_SHARDS="abc", MEMOS_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: invalid: setting MEMOS_N_SHARDS='abc': Input should be a valid integer, unable to parse string "
        "as an integer"
    ]


def test_an_out_of_range_setting_names_its_variable(tmp_path):
    result = run_memos("serve", MEMOS_PORT="0", MEMOS_DATA_DIR=str(tmp_path / "data"))
    assert (result.returncode, result.stderr) == (
        1, "error: invalid: setting MEMOS_PORT='0': Input should be greater than or equal to 1\n")


def test_a_list_setting_that_is_not_json_is_one_line_too(tmp_path):
    result = run_memos("serve", MEMOS_WORLD_SKIP_ROLES="assistant", MEMOS_DATA_DIR=str(tmp_path / "data"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        'error: invalid: error parsing value for field "world_skip_roles" from source "EnvSettingsSource"; '
        "a list setting takes JSON, e.g. MEMOS_WORLD_SKIP_ROLES='[\"assistant\"]'"]
    assert not (tmp_path / "data").exists()


def test_a_port_in_use_is_one_line_at_once_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = run_memos("serve", MEMOS_PORT=str(port), MEMOS_DATA_DIR=str(tmp_path / "data"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: conflict: cannot listen on 127.0.0.1:{port}: Address already in use (MEMOS_HOST, MEMOS_PORT)\n"
    assert time.monotonic() - started < 30  # no Ray, no model: it failed before starting them
    assert not (tmp_path / "data").exists()


def listening_sockets() -> dict[int, str]:
    """Socket inode -> the local address it listens on, from /proc/net/tcp and tcp6."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                out[int(fields[9])] = fields[1].split(":")[0]
    return out


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except (FileNotFoundError, PermissionError, ProcessLookupError):
        pass
    return inodes


def session_processes(sid: int) -> dict[int, str]:
    """pid -> name of every process in the session (Ray gives each worker its own process group)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            name, rest = stat.split(" (", 1)[1].rsplit(")", 1)
            if int(rest.split()[3]) == sid:
                out[int(entry.name)] = name
    return out


LOOPBACK_HEX = {
    "0100007F",  # 127.0.0.1
    "00000000000000000000000001000000",  # ::1
    "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1
}


def test_a_first_start_says_what_a_user_needs_and_listens_on_loopback_only(tmp_path):
    data, port = tmp_path / "data", free_port()
    stderr_path = tmp_path / "stderr.txt"
    env = {**os.environ, "MEMOS_DATA_DIR": str(data), "MEMOS_PORT": str(port), "MEMOS_RAY_OBJECT_STORE_MB": "256"}
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen([MEMOS, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, stderr_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).json()["status"] == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, stderr_path.read_text()
            time.sleep(0.5)

        # Every process of this server (the front door, Ray's GCS and raylet, the actors' workers)
        # is in its session; none of their listening sockets is beyond loopback.
        listening = listening_sockets()
        ours = {(name, inode): listening[inode] for pid, name in session_processes(proc.pid).items()
                for inode in socket_inodes(pid) if inode in listening}
        names = {name for name, _ in ours}
        assert {"memos", "gcs_server", "raylet"} <= names and any(n.startswith("ray::") for n in names), ours
        assert set(ours.values()) <= LOOPBACK_HEX, ours

        text = stderr_path.read_text()
        for needed in (f"memos ready on http://127.0.0.1:{port}", f"data dir: {data.resolve()}",
                       "model: all-MiniLM-L6-v2 (onnx)", "auth: off (loopback and no API keys"):
            assert needed in text, text
        for noise in ("Traceback", "TracerWarning", "UserWarning", "RuntimeWarning", "core_worker.cc",
                      "Loading weights", "SIGTERM handler", "Token authentication"):
            assert noise not in text, text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(45)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of Ray is left
        except ProcessLookupError:
            pass
        proc.wait(30)
