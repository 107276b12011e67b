"""Request and response bodies of the HTTP API; the OpenAPI document is generated from these."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, model_validator

from pipeline.errors import Invalid
from pipeline.ids import MEMORY_ID
from pipeline.records import CLIENT_KINDS, Kind, MemoryRecord
from pipeline.timefmt import to_ms
from service.views import HIDDEN_FIELDS, TIME_FIELDS

ClientKind = Literal[tuple(k.value for k in CLIENT_KINDS)]  # type: ignore[valid-type]
TierName = Literal["trace", "world", "skill"]

Tag = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
# Any string up to this length reaches the service, which answers a malformed cube id with 422
# and an unknown or unreadable one with 404.
CubeId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
AgentId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
MemoryId = Annotated[str, StringConstraints(pattern=f"^{MEMORY_ID.pattern}$")]
Content = Annotated[str, StringConstraints(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    status: Annotated[str, StringConstraints(max_length=64)] | None = None
    duration_ms: int | None = Field(default=None, ge=0)


class MemoryIn(Strict):
    content: Content = Field(description="The memory's Markdown body (for a tool call, default: the call as text).")
    kind: ClientKind = Field(default=Kind.NOTE.value, description="Default `tool_call` when `tool` is given.")
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free JSON; `speaker` or `role` is indexed.")
    id: MemoryId | None = Field(default=None, description="Client-chosen id; repeating it is a no-op.")
    created_at: datetime | None = Field(default=None, description="When it happened (default: now).")
    source_ids: list[MemoryId] = Field(default_factory=list, max_length=100)
    cube: CubeId | None = Field(default=None, description="Target cube (you need write); default: your own.")
    episode: MemoryId | None = Field(default=None, description="The open episode this trace belongs to.")
    tool: ToolIn | None = Field(default=None, description="A tool call: name, arguments, result, status.")

    @model_validator(mode="before")
    @classmethod
    def _tool_call_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tool"), dict):
            data = {"kind": Kind.TOOL_CALL.value, **data}
            if not data.get("content") and isinstance(data["tool"].get("name"), str):
                data["content"] = f"called {data['tool']['name']}"
        return data


class BatchIn(Strict):
    items: list[MemoryIn] = Field(max_length=100_000)
    cube: CubeId | None = Field(default=None, description="Default target cube for items that name none.")


class MemoryPatch(Strict):
    content: Content | None = None
    kind: ClientKind | None = None
    tags: list[Tag] | None = Field(default=None, max_length=64)
    metadata: dict[str, Any] | None = None
    version: int | None = Field(default=None, ge=1, description="Fail with 409 unless this is the stored version.")

    @model_validator(mode="after")
    def _something(self) -> "MemoryPatch":
        if all(getattr(self, f) is None for f in ("content", "kind", "tags", "metadata")):
            raise ValueError("a patch changes at least one of content, kind, tags, metadata")
        return self


class RankingIn(Strict):
    """Per-request ranking overrides (for ablations and debugging); omitted fields use the server's."""

    channels: list[Literal["bm25", "vector"]] | None = Field(default=None, min_length=1)
    rrf_k: int | None = Field(default=None, ge=1, le=1000)
    bm25_weight: float | None = Field(default=None, ge=0, le=100)
    vector_weight: float | None = Field(default=None, ge=0, le=100)
    context: bool | None = Field(default=None, description="BM25 also matches neighbouring turns.")
    content_boost: float | None = Field(default=None, ge=0, le=100)
    recency_half_life_days: float | None = Field(default=None, gt=0, description="Boost newer memories.")
    mmr_lambda: float | None = Field(default=None, ge=0, le=1, description="Diversify results (1: relevance only).")


class SearchIn(Strict):
    query: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    top_k: int = Field(10, ge=1, le=100)
    tags: list[Tag] | None = Field(default=None, max_length=64)
    kinds: list[Kind] | None = None
    tiers: list[TierName] | None = Field(default=None, description="Only these tiers (default: all).")
    collapse: bool = Field(True, description="Fold near duplicates into the result they repeat.")
    since: datetime | None = Field(default=None, description="Only memories created at or after this time.")
    until: datetime | None = Field(default=None, description="Only memories created before this time.")
    max_memories: int | None = Field(default=None, ge=1, le=100, description="Return at most this many.")
    max_tokens: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Return only as many memories as fit in this many tokens."
    )
    ranking: RankingIn | None = None
    cubes: list[CubeId] | None = Field(
        default=None, max_length=64, description="Cubes to search (each needs read); default: yours plus mounts."
    )

    @model_validator(mode="after")
    def _until_after_since(self) -> "SearchIn":
        # Raised as Invalid, not ValueError: pydantic would reword a ValueError ("body: Value error,
        # ..."), and the refusal's message is part of the API. Compared in stored milliseconds.
        if self.since is not None and self.until is not None and to_ms(self.until) <= to_ms(self.since):
            raise Invalid("until must be later than since")
        return self


class ShareIn(Strict):
    to: CubeId = Field(description="The cube to copy the memory into (you need write).")
    from_cube: CubeId | None = Field(default=None, description="The cube holding the memory, if not found by id.")


class Accepted(BaseModel):
    id: str
    job_id: str | None
    status: Literal["queued", "exists", "done"]


def _memory_model() -> type[BaseModel]:
    """A memory as the API shows it, field for field from the stored record (service/views.py)."""
    hints = get_type_hints(MemoryRecord)
    shown: dict[str, Any] = {}
    for f in dataclass_fields(MemoryRecord):
        if f.name in HIDDEN_FIELDS:
            continue
        kind = hints[f.name]
        if f.name in TIME_FIELDS:
            kind = str | None if f.default is None else str  # ISO 8601
        elif f.name == "tokens":
            kind = int | None  # not counted yet while the write is pending
        shown[f.name] = (kind, ...)  # a view always carries every field
    return create_model("Memory", **shown)


Memory = _memory_model()


class MemoryPage(BaseModel):
    items: list[Memory]
    next_cursor: str | None


class BatchItem(BaseModel):
    id: str
    status: str = Field(description="queued or exists; with ?wait=true, done, exists or failed (queued past the timeout).")


class BatchAccepted(BaseModel):
    job_id: str
    status: Literal["queued", "done", "failed"]
    accepted: int
    items: list[BatchItem]


class Scores(BaseModel):
    bm25: float | None
    vector: float | None
    feedback: int = 0


class ChannelRank(BaseModel):
    rank: int = Field(description="1 is the channel's best match.")
    score: float


class Why(BaseModel):
    """How a result earned its place: each channel's rank and score, the fusion, the boosts."""

    bm25: ChannelRank | None
    vector: ChannelRank | None
    fusion: float = Field(description="Weighted reciprocal rank fusion of the channel ranks.")
    boosts: dict[str, float] = Field(description="Multipliers applied after fusion (feedback, recency).")
    mmr_rank: int | None = Field(default=None, description="Position chosen by diversity re-ranking, if on.")


class CutHit(BaseModel):
    id: str
    cube: str
    tokens: int
    reason: Literal["max_memories", "max_tokens"]


class SearchHit(BaseModel):
    id: str
    cube: str
    content: str
    score: float
    scores: Scores
    why: Why
    tokens: int = Field(description="Tokens of the memory's indexed text (the embedder's tokenizer).")
    kind: str
    tier: str
    tags: list[str]
    metadata: dict[str, Any]
    created_at: str
    near_duplicates: list[str]


class SearchOut(BaseModel):
    results: list[SearchHit]
    used_tokens: int = Field(description="Sum of the results' tokens.")
    cut: list[CutHit] = Field(description="Ranked results left out to keep within max_memories/max_tokens.")
    took_ms: float
    timings_ms: dict[str, float] = Field(
        description="Time per step: embed, vector, bm25 (on a helper thread beside them), bm25_wait, fuse, fetch."
    )


class JobError(BaseModel):
    id: str
    code: str
    message: str


class Job(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    total: int
    done: int
    failed: int
    errors: list[JobError]
    created_at: str
    finished_at: str | None


class CubeIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class CubePatch(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class CubeOut(BaseModel):
    id: str
    name: str
    description: str
    kind: Literal["private", "kb"]
    owner: str
    shard: str
    created_at: str
    role: Literal["read", "write", "admin"] | None
    mounted: bool
    hot: bool | None = Field(default=None, description="GET /v1/cubes/{id} only: vectors in memory now.")


class MemberIn(Strict):
    agent: AgentId
    role: Literal["read", "write", "admin"]


class MemberOut(BaseModel):
    agent: str
    role: Literal["read", "write", "admin"]
    granted_by: str
    created_at: str


class MountIn(Strict):
    cube: CubeId


class AuditEventOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    cube: str | None
    target: str | None
    memory_id: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_before: int | None


class EpisodeIn(Strict):
    task: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    id: MemoryId | None = None
    cube: CubeId | None = None


class EpisodePatch(Strict):
    outcome: Literal["success", "failure", "unknown"]


class EpisodeOut(BaseModel):
    id: str
    cube: str
    task: str
    agent: str
    status: Literal["open", "closed"]
    outcome: Literal["success", "failure", "unknown"]
    opened_at: str
    closed_at: str | None
    traces: list[str]
    summary_id: str | None


class FeedbackIn(Strict):
    memory_id: MemoryId
    signal: Literal["useful", "not_useful", "wrong", "outdated"]
    correction: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = None
    note: Annotated[str, StringConstraints(max_length=4000)] | None = None
    cube: CubeId | None = None


class LinkIn(Strict):
    src: MemoryId
    dst: MemoryId
    type: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    metadata: dict[str, Any] = Field(default_factory=dict)
    cube: CubeId | None = None


class RenderIn(Strict):
    params: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    status: Literal["ok", "starting"]
    pending: int
    in_flight_batches: int
    batches_done: int
    uptime_s: float
    hot_vectors_mb: float
    warming: int = Field(description="Cubes whose vectors are being loaded or partitioned in the background.")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class Timeline(BaseModel):
    memory: str = Field(description="The memory asked about.")
    position: int = Field(description="Its index in `items`.")
    items: list[Memory] = Field(description="It and its neighbouring turns of the same thread, oldest first.")
