"""Creating a database file: it appears whole, with every migration, or not at all."""

from __future__ import annotations

import threading

from pipeline.write_decisions import WritePolicy
from storage.cube.reader import CubeReader
from storage.cube.schema import MIGRATIONS
from storage.cube.writer import CubeWriter
from storage.sqlite import connect, create_migrated, schema_version


def test_a_created_file_has_every_migration_and_leaves_nothing_beside_it(tmp_path):
    create_migrated(tmp_path / "agent-a.db", MIGRATIONS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent-a.db"]
    conn = connect(tmp_path / "agent-a.db")
    assert schema_version(conn) == len(MIGRATIONS)
    conn.close()


def test_creating_a_file_that_exists_keeps_what_it_holds(tmp_path):
    path = tmp_path / "agent-a.db"
    create_migrated(path, MIGRATIONS)
    conn = connect(path)
    with conn:
        conn.execute("INSERT INTO stats(key, value) VALUES ('marker', 7)")
    conn.close()
    create_migrated(path, MIGRATIONS)
    conn = connect(path)
    assert conn.execute("SELECT value FROM stats WHERE key = 'marker'").fetchone() == (7,)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("agent-a.db-")) == ["agent-a.db"]
    conn.close()


def test_a_reader_never_opens_a_new_cube_file_before_its_schema(tmp_path):
    """Issue 12: the prefetch thread logged "no such table: stats" for a cube still being created."""
    paths = [tmp_path / f"agent-{i}.db" for i in range(100)]
    failures: list[str] = []
    done = threading.Event()

    def read_whatever_exists() -> None:
        while not done.is_set():
            for path in paths:
                if path.exists():
                    try:
                        reader = CubeReader(path)
                        reader.active_count()
                        reader.close()
                    except Exception as exc:  # the test is about any failure at all
                        failures.append(f"{path.name}: {exc!r}")

    reader = threading.Thread(target=read_whatever_exists)
    reader.start()
    try:
        for path in paths:
            CubeWriter(path, WritePolicy()).close()
    finally:
        done.set()
        reader.join()
    assert failures == []
