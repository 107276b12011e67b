"""The crystallize stage as a Ray actor, one per shard: keeps each cube's EpisodeBook and turns closing
episodes into summaries and skills (pipeline/crystallize_stage.py). It calls no other actor: a
closing row brings its task vector, and what it derives is embedded by the next stage of the chain."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pyarrow as pa

from actors.stage_timing import timed
from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize_stage import DERIVING_OPS, EpisodeBook, crystallize_rows, with_derived
from pipeline.encoder import TokenCounter
from storage.cube.reader import CubeReader
from storage.episode_book import load_book
from storage.paths import DataPaths


class CrystallizeStage:
    def __init__(self, data_dir: str, model: str, min_support: int) -> None:
        self._paths = DataPaths(Path(data_dir))
        self._count = TokenCounter(model)
        self._config = CrystallizeConfig(min_support=min_support)
        self._books: OrderedDict[str, EpisodeBook] = OrderedDict()

    def ready(self) -> bool:
        return True

    def reset(self) -> None:
        self._books.clear()

    def forget_cube(self, cube: str) -> None:
        self._books.pop(cube, None)

    def _book(self, cube: str) -> EpisodeBook:
        book = self._books.get(cube)
        if book is None:
            path = self._paths.cube_db(cube)
            book = EpisodeBook()
            if path.exists():
                store = CubeReader(path)
                try:
                    book = load_book(store)
                finally:
                    store.close()
            self._books[cube] = book
        self._books.move_to_end(cube)
        while len(self._books) > 256:
            self._books.popitem(last=False)
        return book

    def crystallize(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return timed("crystallize", batch, self._crystallize)

    def _crystallize(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        ops = batch["op"].to_pylist()
        episodes = batch["episode"].to_pylist()
        if not any(op in DERIVING_OPS for op in ops) and not any(episodes):
            return batch  # nothing about episodes or skills: the common case, no copy
        rows = batch.drop_columns(["vector"]).to_pylist()
        derived = crystallize_rows(rows, self._book, self._config)
        if not derived:
            return batch
        return with_derived(batch, derived, self._count)
