"""Recognising a full disk in what each store raises, so it is answered as one (507), not as a fault.

SQLite says SQLITE_FULL (apsw.FullError), Python says ENOSPC or EDQUOT; Lance and tantivy wrap
the operating system's error in their own exception with its text. A store that meets a full
disk writes nothing that it then acknowledges: the SQLite transaction rolls back, and a pipeline
batch that fails so stays pending in the intake log and is retried (actors/pipeline_driver.py).
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import apsw

from pipeline.errors import StorageFull

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_FULL_TEXTS = ("no space left on device", "disk quota exceeded", "database or disk is full")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or anything in its chain of causes, is a full disk."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (StorageFull, apsw.FullError)):
            return True
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if any(text in str(exc).lower() for text in _FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def nearly_full(path: Path) -> bool:
    """Whether the disk holding `path` has almost no space left: what tantivy's and Lance's errors
    mean when they do not say (tantivy reports a full disk only as "an index writer was killed")."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return False
    return usage.free < min(64 * 2**20, usage.total // 20)


def full_disk(what: str) -> StorageFull:
    """The error a client gets: nothing was written, and the same request succeeds once space is freed."""
    return StorageFull(f"the data directory's disk is full ({what}); free space and send the request again")
