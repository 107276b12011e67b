"""A cube's Parquet export is written by DuckDB with its path bound, not formatted into the SQL."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from service.cubes import write_parquet


def test_a_path_with_quotes_is_written_exactly_there(tmp_path):
    """Issue 12: `COPY ... TO '{out}'` broke (or changed meaning) for a path holding a quote."""
    folder = tmp_path / "it's a dir'); DROP TABLE memories; --"
    folder.mkdir()
    out = folder / "export.parquet"
    table = pa.table({"id": ["m1", "m2"], "content": ["Alice's tea", "Bob's coffee"]})
    write_parquet(table, out)
    assert sorted(p.name for p in folder.iterdir()) == ["export.parquet"]
    back = duckdb.connect().execute("SELECT id, content FROM read_parquet(?) ORDER BY id", [str(out)]).fetchall()
    assert back == [("m1", "Alice's tea"), ("m2", "Bob's coffee")]
