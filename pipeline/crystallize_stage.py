"""Crystallize stage: follows episodes through the batch; a closing episode yields its summary
memory and any new skill or skill version; feedback on a skill yields a version with the run.

The stage keeps, per cube, an `EpisodeBook`: open episodes with their traces so far, the closed
episodes no skill has claimed yet, and the current skills. Like dedupe it sees every mutation
of its shard in intake order, so traces still in flight to the writer are already in the book.
It returns `Derived` memories, which `with_derived` appends to the batch without a vector: the
chain's second embed pass fills them. A closing row arrives with its task's vector in its attrs
(the first embed pass put it there), so the stage never calls the model itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from pipeline.crystallize.config import CrystallizeConfig
from pipeline.crystallize.decide import crystallize
from pipeline.crystallize.skill import Skill
from pipeline.crystallize.versions import record_run
from pipeline.episode_summary import summarize_episode
from pipeline.episodes import Episode, EpisodeTrace, Outcome, ToolCall
from pipeline.parse import CountTokens, content_hash
from pipeline.records import Kind, Op, Tier, derived_row

POOL_LIMIT = 200  # closed episodes kept for grouping into future skills, per cube
# Only these ops make the stage derive memories; a batch with none of them leaves it unchanged.
DERIVING_OPS = frozenset({Op.EPISODE.value, Op.FEEDBACK.value})


@dataclass
class OpenEpisode:
    task: str
    opened_at: int
    traces: list[EpisodeTrace] = field(default_factory=list)


@dataclass
class EpisodeBook:
    open: dict[str, OpenEpisode] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    pool: list[Episode] = field(default_factory=list)
    skills: dict[str, Skill] = field(default_factory=dict)

    def remember_closed(self, episode: Episode) -> None:
        self.closed.add(episode.id)
        self.pool = (self.pool + [episode])[-POOL_LIMIT:]

    def claim(self, episode_ids: set[str]) -> None:
        self.pool = [e for e in self.pool if e.id not in episode_ids]


@dataclass(frozen=True)
class Derived:
    """A memory the stage makes: an episode summary or a skill version, riding with `seq`."""

    seq: int
    job_id: str
    op: str
    id: str
    cube: str
    agent: str
    tier: str
    kind: str
    content: str
    metadata: dict[str, Any]
    source_ids: tuple[str, ...]
    created_at: int
    episode: str | None = None


def trace_from(memory_id: str, kind: str, content: str, tool: dict[str, Any] | None, metadata: dict[str, Any],
               created_at: int) -> EpisodeTrace:
    call = ToolCall(tool["name"], tool.get("arguments") or {}, _text(tool.get("result")), tool.get("status"),
                    tool.get("duration_ms")) if tool else None
    return EpisodeTrace(memory_id, kind, content, call, metadata.get("speaker"), created_at)


def trace_of(row: dict[str, Any]) -> EpisodeTrace:
    """A pipeline row (JSON columns) as an episode trace."""
    tool = orjson.loads(row["tool"]) if row.get("tool") else None
    return trace_from(row["id"], row["kind"], row["content"], tool, orjson.loads(row["metadata"] or "{}"),
                      row["created_at"])


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def skill_markdown(skill: Skill) -> str:
    steps = "\n".join(f"{i}. `{s.tool}` {orjson.dumps(dict(s.arguments)).decode()}" for i, s in enumerate(skill.steps, 1))
    return (f"# {skill.name}\n\n{skill.description}\n\n**When to use:** {skill.when_to_use}\n\n"
            f"**Steps:**\n{steps}\n\n**Success rate:** {skill.success_rate:.0%} over {skill.runs} runs")


def _skill_derived(row: dict[str, Any], skill: Skill, at: int) -> Derived:
    return Derived(row["seq"], row["job_id"], Op.SKILL.value, skill.id, row["cube"], row["agent"], Tier.SKILL.value,
                   Kind.SKILL.value, skill_markdown(skill), skill.to_dict(), tuple(skill.examples), at)


def task_vector_of(attrs: dict[str, Any]) -> np.ndarray | None:
    """The closing row's task vector; None for a close queued before closes carried their task."""
    vector = attrs.get("task_vector")
    return np.asarray(vector, dtype=np.float32) if vector is not None else None


def close_episode(
    row: dict[str, Any], book: EpisodeBook, attrs: dict[str, Any], config: CrystallizeConfig
) -> list[Derived]:
    """The summary of the closing episode, and the skills its closing creates or advances."""
    opened = book.open.pop(row["id"], None)
    if opened is None:
        return []  # unknown, or already closed (a replay): nothing new
    at = int(attrs.get("at") or row["created_at"] or 0)
    vector = task_vector_of(attrs)
    episode = Episode(row["id"], opened.task, Outcome(attrs.get("outcome") or "unknown"), tuple(opened.traces),
                      vector, at)
    book.remember_closed(episode)
    summary = summarize_episode(episode)
    out = [Derived(row["seq"], row["job_id"], Op.ADD.value, f"summary-{row['id']}", row["cube"], row["agent"],
                   Tier.TRACE.value, Kind.SUMMARY.value, summary.markdown, summary.structured,
                   summary.source_ids, at, episode=row["id"])]
    for change in crystallize(book.pool, list(book.skills.values()), config):
        book.skills[change.skill.id] = change.skill
        book.claim(set(change.episode_ids))
        out.append(_skill_derived(row, change.skill, at))
    return out


def crystallize_rows(
    rows: list[dict[str, Any]],
    book_of: Callable[[str], EpisodeBook],
    config: CrystallizeConfig,
) -> list[tuple[int, Derived]]:
    """(index of the row each follows, derived memory) for a batch, updating the books in order."""
    derived: list[tuple[int, Derived]] = []
    for i, row in enumerate(rows):
        if row["error"]:
            continue
        book = book_of(row["cube"])
        if row["op"] == Op.ADD and row.get("episode") and row["episode"] in book.open:
            if not any(t.id == row["id"] for t in book.open[row["episode"]].traces):  # replays come twice
                book.open[row["episode"]].traces.append(trace_of(row))
        elif row["op"] == Op.EPISODE:
            attrs = orjson.loads(row["attrs"])
            if attrs.get("action") == "open":
                if row["id"] not in book.open and row["id"] not in book.closed:
                    book.open[row["id"]] = OpenEpisode(str(attrs.get("task") or ""), int(attrs.get("at") or 0))
            else:
                derived += [(i, d) for d in close_episode(row, book, attrs, config)]
        elif row["op"] == Op.FEEDBACK:
            attrs = orjson.loads(row["attrs"])
            skill = book.skills.get(row["id"])
            if skill is not None and attrs.get("signal") in ("useful", "not_useful", "wrong"):
                run = record_run(skill, f"run-{row['seq']}", attrs["signal"] == "useful")
                if run is not None:
                    book.skills[run.id] = run
                    derived.append((i, _skill_derived(row, run, int(attrs.get("at") or 0))))
    return derived


def derived_rows(derived: Sequence[Derived], count_tokens: CountTokens) -> list[dict[str, Any]]:
    """The derived memories as deduped pipeline rows: new, active, and with no vector yet."""
    tokens = count_tokens([d.content for d in derived]) if derived else []
    return [
        derived_row(
            seq=d.seq, job_id=d.job_id, op=d.op, id=d.id, cube=d.cube, agent=d.agent, tier=d.tier, kind=d.kind,
            content=d.content, index_text=d.content, metadata=orjson.dumps(d.metadata).decode(),
            created_at=d.created_at, updated_at=d.created_at, content_hash=content_hash(d.kind, d.content, {}),
            source_ids=list(d.source_ids), tokens=n, episode=d.episode,
        )
        for d, n in zip(derived, tokens)
    ]


def with_derived(
    batch: pa.RecordBatch, derived: list[tuple[int, Derived]], count_tokens: CountTokens
) -> pa.RecordBatch:
    """The batch with each derived memory right after the row it follows (one cube transaction)."""
    extra = derived_rows([d for _, d in derived], count_tokens)
    table = pa.concat_tables([pa.Table.from_batches([batch]), pa.Table.from_pylist(extra, schema=batch.schema)])
    after: dict[int, list[int]] = {}
    for k, (i, _) in enumerate(derived):
        after.setdefault(i, []).append(batch.num_rows + k)
    order = [j for i in range(batch.num_rows) for j in (i, *after.get(i, []))]
    return table.take(pa.array(order)).combine_chunks().to_batches()[0]
