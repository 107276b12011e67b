"""Every command of the README's "Try it" block runs as written against a real server.

Issue 12: the README's first `curl -d` got `400 malformed_request` (curl sent a form type), and its
key and cube lines held placeholders (`mk_...`, `kb-01M8...`) nobody could run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from api.server_process import start_server

ROOT = Path(__file__).resolve().parents[1]
BIN = str(Path(sys.executable).parent)
MARK = "<<README-COMMAND"


def try_it_commands() -> list[str]:
    """The block's commands, continuation lines joined, comments and `make serve &` left out."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^## Try it\n+```sh\n(.*?)^```", text, re.S | re.M)
    assert block is not None, "README.md has no ```sh block under '## Try it'"
    commands, pending = [], ""
    for line in block.group(1).splitlines():
        line = pending + line
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        command = line.split("  #", 1)[0].strip()  # a trailing comment is two spaces and a hash
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def test_the_try_it_block_runs_as_written(tmp_path):
    commands = try_it_commands()
    assert commands[0] == "make serve &"  # the server below stands in for it
    commands = commands[1:]
    assert len(commands) == 8
    server = start_server(tmp_path / "data")
    try:
        script = ["set -o pipefail"]
        for n, command in enumerate(commands):
            command = command.replace("localhost:8765", f"127.0.0.1:{server.port}").replace(".venv/bin/", BIN + "/")
            if "/v1/search" in command:
                # The write above was accepted in a millisecond; indexing it takes a moment longer
                # than a shell does to reach the next line.
                command = (f'for _ in $(seq 120); do out=$({command}) || exit 1; '
                           f'case "$out" in *"green tea"*) break;; esac; sleep 0.5; done; echo "$out"')
            # curl prints no newline of its own: the mark starts a line of its own all the same.
            script += [command, f'rc=$?; echo; echo "{MARK} {n} $rc"; [ $rc -eq 0 ] || exit $rc']
        env = server.env(MEMOS_URL=server.url, MEMOS_API_KEY="", MEMOS_AGENT="default")
        run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
        outputs = re.split(rf"^{MARK} \d+ (\d+)$\n?", run.stdout, flags=re.M)
        codes = [int(c) for c in outputs[1::2]]
        assert codes == [0] * len(commands), f"{run.stdout}\n{run.stderr}\n{server.log()}"
        out = dict(zip(commands, outputs[0::2]))
        write, search = out[commands[0]], out[commands[1]]
        assert '"status":"queued"' in write
        assert "Alice prefers green tea over coffee" in search
        assert "Deploys run at 17:00 UTC" in out[commands[3]]
    finally:
        server.stop()
