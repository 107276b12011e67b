"""service/importer.py: a file import runs the whole stage chain into a cube.

Regression (issue 12): `memos import --offline` skipped the extract and crystallize stages, so an
imported note stated no world facts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from service.importer import import_file
from service.runtime import Runtime
from storage.cube.reader import CubeReader

DIM = 384


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_an_imported_note_yields_its_world_fact_and_a_carried_vector_is_kept(runtime: Runtime, tmp_path: Path):
    carried = [0.0] * DIM
    carried[7] = 2.0
    source = write_jsonl(tmp_path / "notes.jsonl", [
        {"id": "imp-tea", "content": "Alice prefers green tea.", "kind": "note"},
        {"id": "imp-kite", "content": "The red kite flew over the harbour", "vector": carried},
        {"id": "imp-empty", "content": ""},
        {"id": "imp-bogus", "content": "a bogus kind", "kind": "bogus"},
    ])
    cube = runtime.registry.ensure_private("agent-importer", "importer")
    seen: list[int] = []
    totals = import_file(source, cube, "importer", runtime.chain, DIM, max_chars=runtime.settings.max_content_chars,
                         progress=seen.append)

    assert totals.view() == {
        "read": 4, "imported": 2, "skipped": 2, "reused_vectors": 1,
        "skipped_examples": ["row 3: content is missing or empty",
                             "row 4: kind 'bogus' is not one of ['fact', 'image', 'message', 'note', 'persona', "
                             "'skill', 'summary', 'tool_call']"],
    }
    assert seen[-1] == 4  # progress counts every row handled, skipped ones too
    store = CubeReader(runtime.paths.cube_db(cube.id))
    try:
        (fact,) = store.list(limit=10, tier="world").items
        vectors = store.embeddings(["imp-tea", "imp-kite", fact.id])
    finally:
        store.close()
    assert (fact.kind, fact.content, fact.source_ids) == ("fact", "Alice prefers green tea.", ["imp-tea"])
    expected = np.zeros(DIM, dtype=np.float32)
    expected[7] = 1.0
    assert np.array_equal(vectors["imp-kite"], expected)  # the file's vector, made unit length, not re-embedded
    assert set(vectors) == {"imp-tea", "imp-kite", fact.id}  # the note and its fact were embedded
