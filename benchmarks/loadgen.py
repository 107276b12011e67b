"""Driving Debian's wrk (closed loop) and hey (fixed rate, single client) at loopback, and reading their figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


class ToolMissing(RuntimeError):
    """wrk or hey is not installed (make bench-tools installs both from Debian)."""


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} is not installed; run `make bench-tools` (apt-get install wrk hey)")
    return path


def _loopback(url: str) -> None:
    if not re.match(r"https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/", url):
        raise ValueError(f"load is only ever sent to loopback, not {url}")


def wrk(url: str, body: str, *, connections: int, seconds: int, headers: dict[str, str] | None = None) -> LoadResult:
    """Closed loop: `connections` clients, each sending the next request when the last answers."""
    _loopback(url)
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
    lines.append(f"wrk.body = [[{body}]]")
    lines.append("""done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %f %f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end""")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines))
    try:
        out = subprocess.run(
            [require("wrk"), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    requests, errors, p50, p99 = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)", out).groups()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return LoadResult(rps, float(p50), float(p99), int(requests), int(errors))


def hey(url: str, body: str, *, workers: int, seconds: int | None = None, total: int | None = None,
        rate_per_worker: float | None = None, headers: dict[str, str] | None = None) -> LoadResult:
    """`workers` clients; with `rate_per_worker` each sends at that steady rate (an open-ish loop)."""
    _loopback(url)
    cmd = [require("hey"), "-c", str(workers), "-m", "POST", "-T", "application/json", "-d", body]
    cmd += ["-z", f"{seconds}s"] if seconds else ["-n", str(total)]
    if rate_per_worker:
        cmd += ["-q", f"{rate_per_worker:.2f}"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=(seconds or 120) + 60,
                         check=True).stdout
    pct = {m.group(1): float(m.group(2)) * 1000 for m in re.finditer(r"(\d+)%+ in ([\d.]+) secs", out)}
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    ok = sum(n for c, n in codes.items() if c < 400)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return LoadResult(rps, pct.get("50", float("nan")), pct.get("99", float("nan")), sum(codes.values()),
                      sum(codes.values()) - ok)
