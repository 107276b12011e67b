"""tantivy's .lock files after a kill (issue 13): left behind, and safe to leave (storage/lexical_index.py).

The lock is an OS file lock on the file, released by the kernel when its process dies; so a writer
opens at once over the files a SIGKILL left, while a second writer beside a live one is refused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import StoreError
from pipeline.records import IndexRow
from storage.lexical_index import LexicalReader, LexicalWriter

HOLDER = """
import sys, time
from pipeline.records import IndexRow
from storage.lexical_index import LexicalWriter
w = LexicalWriter(__import__("pathlib").Path(sys.argv[1]))
w.apply([IndexRow(id="held", cube="agent-a", tier="trace", kind="note", index_text="written by the holder",
                  tags=[], created_at=1, status="active")], [])
print("holding", flush=True)
time.sleep(600)
"""
LOCKS = {".tantivy-writer.lock", ".tantivy-meta.lock"}


def hold(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def doc(memory_id: str, text: str) -> IndexRow:
    return IndexRow(id=memory_id, cube="agent-a", tier="trace", kind="note", index_text=text, tags=[],
                    created_at=2, status="active")


def test_locks_left_by_a_kill_do_not_stop_the_next_writer(tmp_path):
    path = tmp_path / "lex"
    holder = hold(path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(30)
    assert LOCKS <= set(os.listdir(path))  # the kill left both files

    writer = LexicalWriter(path)  # and a writer opens over them
    writer.apply([doc("after", "written after the kill")], [])
    reader = LexicalReader(path)
    assert sorted(i for _, i, _ in reader.search("written", ["agent-a"], 5)) == ["after", "held"]


def test_a_second_writer_beside_a_live_one_is_still_refused(tmp_path):
    path = tmp_path / "lex"
    holder = hold(path)
    try:
        with pytest.raises(StoreError, match="LockBusy|lock"):
            LexicalWriter(path)
    finally:
        holder.kill()
        holder.wait(30)
    time.sleep(0.1)
    LexicalWriter(path).apply([doc("x", "once the holder is gone")], [])
