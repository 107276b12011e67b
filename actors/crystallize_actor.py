"""The crystallize stage as a Ray actor, one per shard: keeps each cube's EpisodeBook, turns closing
episodes into summaries and skills (pipeline/crystallize_stage.py) and embeds what it made."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import ray

from pipeline.crystallize import CrystallizeConfig
from pipeline.crystallize_stage import Derived, EpisodeBook, crystallize_rows
from pipeline.encoder import TokenCounter
from pipeline.parse import content_hash
from pipeline.records import Op
from storage.cube_store import CubeStore
from storage.episode_book import load_book
from storage.paths import DataPaths

RELEVANT_OPS = (Op.EPISODE.value, Op.FEEDBACK.value)


class CrystallizeStage:
    def __init__(self, data_dir: str, model: str, embedders: list[Any], min_support: int) -> None:
        self._paths = DataPaths(Path(data_dir))
        self._count = TokenCounter(model)
        self._embed = itertools.cycle(embedders)
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
                store = CubeStore(path, create=True)
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
        ops = batch["op"].to_pylist()
        episodes = batch["episode"].to_pylist()
        if not any(op in RELEVANT_OPS for op in ops) and not any(episodes):
            return batch  # nothing about episodes or skills: the common case, no copy
        rows = batch.drop_columns(["vector"]).to_pylist()

        def task_vector(text: str) -> np.ndarray:
            return ray.get(next(self._embed).embed_texts.remote([text]))[0]

        derived = crystallize_rows(rows, self._book, task_vector, self._config)
        if not derived:
            return batch
        return self._with_derived(batch, rows, derived)

    def _with_derived(self, batch: pa.RecordBatch, rows: list[dict], derived: list[tuple[int, Derived]]) -> pa.RecordBatch:
        texts = [d.content for _, d in derived]
        embedded = ray.get(next(self._embed).embed_texts.remote(texts))
        tokens = self._count(texts)
        extra = [self._row(d, v, n) for (_, d), v, n in zip(derived, embedded, tokens)]
        # Closing rows carry their task's vector to the file, so a restart can group the episode again.
        attrs = batch["attrs"].to_pylist()
        for i, row in enumerate(rows):
            vector = self._book(row["cube"]).closing_vectors.pop(row["id"], None) if row["op"] == Op.EPISODE else None
            if vector is not None:
                attrs[i] = orjson.dumps({**orjson.loads(attrs[i]), "task_vector": [float(x) for x in vector]}).decode()
        base = batch.set_column(batch.schema.get_field_index("attrs"), "attrs", pa.array(attrs, pa.string()))
        table = pa.concat_tables([pa.Table.from_batches([base]),
                                  pa.Table.from_pylist(extra, schema=batch.schema)])
        order: list[int] = []
        after: dict[int, list[int]] = {}
        for k, (i, _) in enumerate(derived):
            after.setdefault(i, []).append(batch.num_rows + k)
        for i in range(batch.num_rows):
            order += [i, *after.get(i, [])]
        return table.take(pa.array(order)).combine_chunks().to_batches()[0]

    @staticmethod
    def _row(d: Derived, vector: np.ndarray, tokens: int) -> dict[str, Any]:
        return {
            "seq": d.seq, "job_id": d.job_id, "op": d.op, "id": d.id, "cube": d.cube, "agent": d.agent,
            "tier": d.tier, "kind": d.kind, "content": d.content, "index_text": d.content, "tags": [],
            "metadata": orjson.dumps(d.metadata).decode(), "created_at": d.created_at, "updated_at": d.created_at,
            "content_hash": content_hash(d.kind, d.content, {}), "source_ids": list(d.source_ids),
            "tokens": tokens, "base_version": None, "reembed": True, "episode": d.episode, "tool": None,
            "attrs": None, "error": None, "vector": [float(x) for x in vector], "dedupe": "new", "status": "active",
            "duplicate_of": None, "near_duplicate_of": None, "near_duplicate_score": None,
        }
