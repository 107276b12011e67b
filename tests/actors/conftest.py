"""One local Ray with the stage actors of one shard, shared by the actor tests."""

from __future__ import annotations

import pytest

from actors import cluster
from configs import Settings


@pytest.fixture(scope="package")
def ray_pipeline(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("ray") / "data", ray_object_store_mb=256)
    cluster.connect(settings)
    actors = cluster.spawn(settings, ["s0"], 384)
    yield settings, actors
    cluster.shutdown()
