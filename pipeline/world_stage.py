"""World-model stage: facts read from new traces (and corrections) become `fact` rows in the batch.

Each fact row rides with the trace it came from (same intake seq), so both land in one cube
transaction, and a replay derives the same fact under the same id. The write stage reconciles
fact rows with the cube's world model (pipeline/world_model.py): new, restated, superseding or
historical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pyarrow as pa

from pipeline.parse import CountTokens, speaker_of
from pipeline.records import FACT_SOURCE_KINDS, Kind, Op, PipelineRow, Tier
from pipeline.world_facts.fact import TraceText, WorldFact

Extract = Callable[[Sequence[TraceText]], list[list[WorldFact]]]


def fact_id(cube: str, fact: WorldFact) -> str:
    """Deterministic: the same statement in the same trace is always the same fact id."""
    key = "\x1f".join([cube, ",".join(sorted(fact.source_ids)), fact.subject.casefold(), fact.relation or "",
                       fact.predicate.value, fact.object_key, str(fact.polarity)])
    return "fact-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def fact_row(base: dict[str, Any], fact: WorldFact, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A `fact` pipeline row, riding with the intake entry `base` came from."""
    text = fact.render()
    return PipelineRow(
        seq=base["seq"], job_id=base["job_id"], op=Op.FACT.value, id=fact_id(base["cube"], fact), cube=base["cube"],
        agent=base["agent"], tier=Tier.WORLD.value, kind=Kind.FACT.value, content=text, index_text=text,
        metadata=orjson.dumps(fact.to_dict()).decode(), created_at=fact.valid_from, updated_at=fact.valid_from,
        content_hash=hashlib.sha256(f"fact\x1f{text.casefold()}".encode()).hexdigest(),
        source_ids=list(fact.source_ids), attrs=orjson.dumps({"fact": fact.to_dict(), **(extra or {})}).decode(),
    ).as_dict()


def _source_trace(row: dict[str, Any], skip_roles: frozenset[str]) -> TraceText | None:
    if row["error"] or row["op"] != Op.ADD or row["tier"] != Tier.TRACE or row["kind"] not in FACT_SOURCE_KINDS:
        return None
    metadata = orjson.loads(row["metadata"] or "{}")
    if row["kind"] == Kind.MESSAGE and _role_of(metadata) in skip_roles:
        return None
    return TraceText(row["id"], row["content"], row["created_at"], speaker_of(metadata))


def _role_of(metadata: dict[str, Any]) -> str:
    role = metadata.get("role")
    return role.strip().casefold() if isinstance(role, str) else ""


def _correction(row: dict[str, Any]) -> tuple[TraceText, WorldFact, str] | None:
    """A `wrong` feedback with a correction on a world fact: the text to read and the fact it fixes."""
    if row["error"] or row["op"] != Op.FEEDBACK:
        return None
    attrs = orjson.loads(row["attrs"] or "{}")
    target = attrs.get("target_fact")
    if attrs.get("signal") != "wrong" or not attrs.get("correction") or not target:
        return None
    old = WorldFact.from_dict(target)
    trace = TraceText(f"feedback:{row['id']}", str(attrs["correction"]), int(attrs.get("at") or 0), old.subject)
    return trace, old, row["id"]


def correction_fact(old: WorldFact, read: list[WorldFact], trace: TraceText) -> WorldFact:
    """What the correction says: a fact read from it about the same subject (same predicate if
    possible); failing that, the old fact with the correction's words as its object."""
    same_subject = [f for f in read if f.subject.casefold() == old.subject.casefold()]
    pick = next((f for f in same_subject if f.predicate == old.predicate), None) or (same_subject or [None])[0]
    if pick is None:
        pick = WorldFact(old.subject, old.predicate, trace.text.strip().rstrip("."), True, 0.9, trace.time_ms,
                         (), old.relation, rule="correction", evidence=trace.text)
    return WorldFact(pick.subject, pick.predicate, pick.object, pick.polarity, max(pick.confidence, 0.9),
                     trace.time_ms, (trace.trace_id,), pick.relation, rule="correction", evidence=trace.text)


def extract_batch(batch: pa.RecordBatch, extract: Extract, count_tokens: CountTokens,
                  skip_roles: frozenset[str]) -> pa.RecordBatch:
    """The batch with a `fact` row after each trace (or correction) that states facts; messages
    whose `role` is in `skip_roles` are not read."""
    rows = batch.to_pylist()
    traces: list[tuple[int, TraceText]] = []
    corrections: dict[int, tuple[WorldFact, str]] = {}
    for i, row in enumerate(rows):
        trace = _source_trace(row, skip_roles)
        if trace is not None:
            traces.append((i, trace))
        fix = _correction(row)
        if fix is not None:
            traces.append((i, fix[0]))
            corrections[i] = (fix[1], fix[2])
    if not traces:
        return batch
    facts = extract([t for _, t in traces])
    derived: dict[int, list[dict[str, Any]]] = {}
    for (i, trace), found in zip(traces, facts):
        if i in corrections:
            old, target_id = corrections[i]
            fixed = correction_fact(old, found, trace)
            derived.setdefault(i, []).append(fact_row(rows[i], fixed, {"corrects": target_id}))
        else:
            derived.setdefault(i, []).extend(fact_row(rows[i], f) for f in found)
    new_rows = [r for i, row in enumerate(rows) for r in [row, *derived.get(i, [])]]
    fresh = [r for r in new_rows if r.get("tokens") is None]
    for row, n in zip(fresh, count_tokens([r["index_text"] for r in fresh])):
        row["tokens"] = n
    return pa.RecordBatch.from_pylist(new_rows, schema=batch.schema)
