"""The write path's stages, declared once: which actor runs each, in what order, and what each way
into the chain leaves out.

The live driver and a file import (`memos import`; the online one posts to the live path) both submit through `StageChain.submit`, which chains the remote calls passing object
refs: Ray pipelines the stages and the caller never touches the data, and no actor waits on
another. Ray runs one caller's calls to one actor in submission order, so a per-shard stage
sees its shard's batches in the order they were submitted.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import ray

from actors.cluster import StageActors
from pipeline.crystallize_stage import DERIVING_OPS

log = logging.getLogger(__name__)


class Stage(StrEnum):
    PARSE = "parse"
    EXTRACT = "extract"
    EMBED = "embed"
    DEDUPE = "dedupe"
    CRYSTALLIZE = "crystallize"
    EMBED_DERIVED = "embed_derived"
    WRITE = "write"


def may_derive(batch: pa.RecordBatch) -> bool:
    """Whether crystallize can make memories from the batch: only episode and feedback ops do."""
    return bool(pc.any(pc.is_in(batch["op"], pa.array(sorted(DERIVING_OPS)))).as_py())


@dataclass(frozen=True)
class StageSpec:
    stage: Stage
    actors: str  # the StageActors field that holds the stage's actor(s)
    method: str  # called with the previous stage's output (an object ref) first
    per_shard: bool = False  # one actor per shard, which must see the shard's batches in order; else a pool
    keeps_state: bool = False  # holds what it has seen of its shard; reset() reloads it from the files
    runs_for: Callable[[pa.RecordBatch], bool] | None = None  # the stage runs only for batches this accepts


CHAIN: tuple[StageSpec, ...] = (
    StageSpec(Stage.PARSE, "parse", "parse"),
    StageSpec(Stage.EXTRACT, "extract", "extract"),
    StageSpec(Stage.EMBED, "embed", "embed"),
    StageSpec(Stage.DEDUPE, "dedupe", "dedupe", per_shard=True, keeps_state=True),
    StageSpec(Stage.CRYSTALLIZE, "crystallize", "crystallize", per_shard=True, keeps_state=True),
    # Summaries and skill versions leave crystallize with no vector; the embed pool fills just those.
    StageSpec(Stage.EMBED_DERIVED, "embed", "embed", runs_for=may_derive),
    StageSpec(Stage.WRITE, "write", "write", per_shard=True),
)
SPECS: Mapping[Stage, StageSpec] = {spec.stage: spec for spec in CHAIN}


@dataclass(frozen=True)
class Route:
    """One way into the chain: the stages it leaves out, and the stages it calls on another method."""

    name: str
    skip: frozenset[Stage] = frozenset()
    methods: Mapping[Stage, str] = field(default_factory=dict)

    def stages(self) -> Iterator[StageSpec]:
        return (spec for spec in CHAIN if spec.stage not in self.skip)


# What a client writes: every stage.
LIVE = Route("live")
# A file import runs every stage too, so imported messages, notes and personas yield world facts
# and episodes are followed as if posted. What it keeps instead of recomputing: the vector a row of
# the file carries (given to the embed stage), so those rows are not re-embedded.
IMPORT = Route("import")
# A reindex re-embeds rows read back from the cube files outside this chain: a Ray Data job
# (actors/reindex_dataset.py) with its own embed pool, feeding the shard writers' store_vectors.


class StageChain:
    """The stage actors, called in the order CHAIN declares."""

    def __init__(self, actors: StageActors) -> None:
        self._actors = actors
        self._pools = {spec.actors: itertools.cycle(getattr(actors, spec.actors)) for spec in CHAIN
                       if not spec.per_shard}

    def actor(self, stage: Stage, shard: str | None = None) -> Any:
        """The actor that runs `stage` for `shard` (the next one of a pool)."""
        spec = SPECS[stage]
        if spec.per_shard:
            return getattr(self._actors, spec.actors)[shard]
        return next(self._pools[spec.actors])

    def width(self, stage: Stage) -> int:
        """How many actors run `stage` side by side (a pool's size; one per shard otherwise)."""
        return len(getattr(self._actors, SPECS[stage].actors))

    def submit(
        self,
        batch: pa.RecordBatch,
        shard: str,
        route: Route = LIVE,
        *,
        vectors: Mapping[str, Sequence[float]] | None = None,
        near_duplicates: bool = True,
    ) -> ray.ObjectRef:
        """Chain the route's stages on one shard's batch; the ref of the last stage's output.

        `vectors` (memory id -> vector) are kept by the embed stage for those rows; with
        `near_duplicates` off, dedupe links exact duplicates only (faster on big imports).
        """
        extra: dict[Stage, tuple] = {Stage.EMBED: (vectors,) if vectors else (), Stage.DEDUPE: (near_duplicates,)}
        ref: Any = batch
        for spec in route.stages():
            if spec.runs_for is not None and not spec.runs_for(batch):
                continue
            call = getattr(self.actor(spec.stage, shard), route.methods.get(spec.stage, spec.method))
            ref = call.remote(ref, *extra.get(spec.stage, ()))
        return ref

    def reset(self, shard: str) -> None:
        """The stages that keep shard state forget it (rows whose write never landed) and reload from the files."""
        for spec in CHAIN:
            if not spec.keeps_state:
                continue
            try:
                ray.get(self.actor(spec.stage, shard).reset.remote())
            except ray.exceptions.RayError:
                log.warning("could not reset the %s stage of %s; it restarts from the files", spec.stage, shard)
