"""The low-level steps that make a store forget deleted content for good, not just hide it.

SQLite: connections that delete run with `secure_delete` (freed cells and pages are zeroed), and
the WAL, whose frames are old copies of pages, is checkpointed into the file and truncated to
nothing. Lance and tantivy keep deleted rows in immutable files until those are rewritten; their
steps are `VectorShard.purge_old_versions` and `LexicalWriter.collect_garbage`.
"""

from __future__ import annotations

import apsw


def secure(conn: apsw.Connection) -> apsw.Connection:
    """Deletes on this connection overwrite what they free with zeros."""
    conn.pragma("secure_delete", 1)
    return conn


def truncate_wal(conn: apsw.Connection) -> bool:
    """Checkpoint every frame of the WAL into the file and truncate the WAL to zero bytes.

    False when a reader still holds a snapshot that the WAL serves (SQLite then cannot reset it);
    the caller tries again later, and nothing is lost meanwhile."""
    try:
        log_frames, _ = conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
    except apsw.BusyError:
        return False
    return log_frames <= 0  # 0: truncated; -1: the file is not in WAL mode
