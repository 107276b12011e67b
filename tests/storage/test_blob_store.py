"""Image blobs beside a cube's file: content-addressed, stored once, names validated."""

from __future__ import annotations

import hashlib

import pytest

from pipeline.errors import Invalid
from storage.blob_store import BlobStore
from storage.paths import DataPaths

CUBE = "agent-blobs"


def test_the_same_bytes_are_one_file_and_read_back_whole(tmp_path):
    paths = DataPaths(tmp_path)
    store = BlobStore(paths)
    data = b"\x89PNG not really" * 100
    sha = hashlib.sha256(data).hexdigest()
    assert store.put(CUBE, sha, data, b"thumb") is True
    assert store.put(CUBE, sha, data, b"thumb") is False
    assert sorted(p.name for p in paths.blobs_dir(CUBE).iterdir()) == [sha, f"{sha}.thumb"]  # no temp file left
    assert (store.read(CUBE, sha), store.read_thumbnail(CUBE, sha)) == (data, b"thumb")
    assert list(store.hashes(CUBE)) == [sha] and store.read(CUBE, "0" * 64) is None
    assert store.remove(CUBE, [sha, "1" * 64]) == 1 and store.hashes(CUBE) == {}
    store.remove_all(CUBE)
    assert not paths.blobs_dir(CUBE).exists()


@pytest.mark.parametrize(("cube", "name"), [
    (CUBE, "../../registry.db"), (CUBE, "A" * 64), (CUBE, "0" * 63), (CUBE, "0" * 64 + ".png"),
    ("../cubes", "0" * 64), ("agent-x/../../etc", "0" * 64), ("kb-notaulid", "0" * 64),
])
def test_a_name_that_is_not_a_hash_or_a_cube_never_becomes_a_path(tmp_path, cube, name):
    with pytest.raises(Invalid):
        BlobStore(DataPaths(tmp_path)).read(cube, name)
