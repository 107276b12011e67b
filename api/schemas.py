"""Request and response bodies of the HTTP API; the OpenAPI document is generated from these."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, StrictBool, StringConstraints, WithJsonSchema,
    create_model, model_validator,
)
from pydantic_core import PydanticCustomError

from pipeline.errors import Invalid
from pipeline.ids import AGENT_ID, CUBE_ID, MEMORY_ID
from pipeline.input_bounds import JSON_INT_MAX, JSON_INT_MIN, MAX_JSON_DEPTH, TIME_PATTERN, TIME_RULE, parse_time
from pipeline.records import CLIENT_KINDS, Kind, MemoryRecord
from pipeline.timefmt import to_ms
from service.links import LINK_TYPE
from service.views import HIDDEN_FIELDS, TIME_FIELDS

ClientKind = Literal[tuple(k.value for k in CLIENT_KINDS)]  # type: ignore[valid-type]
TierName = Literal["trace", "world", "skill"]

# Every rule the server holds a value to is stated here, so the OpenAPI says exactly what is
# refused (issue 13: schemathesis found 1,087 schema-valid requests refused). Patterns are written
# in the subset that Python, ECMA-262 (the OpenAPI's regex dialect) and Rust (pydantic) read alike.
Tag = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
CUBE_ID_PATTERN = f"^(?:{CUBE_ID.pattern})$"
AGENT_ID_PATTERN = f"^{AGENT_ID.pattern}$"
MEMORY_ID_PATTERN = f"^{MEMORY_ID.pattern}$"
LINK_TYPE_PATTERN = f"^{LINK_TYPE.pattern}$"
CubeId = Annotated[str, StringConstraints(pattern=CUBE_ID_PATTERN)]
AgentId = Annotated[str, StringConstraints(pattern=AGENT_ID_PATTERN)]
MemoryId = Annotated[str, StringConstraints(pattern=MEMORY_ID_PATTERN)]
# At least one character that str.strip() keeps: the service refuses content that is only whitespace.
NOT_ONLY_SPACE = "[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
Content = Annotated[str, StringConstraints(min_length=1, pattern=NOT_ONLY_SPACE)]

# Free JSON (metadata, tool arguments, skill parameters): parsed and bounded by
# pipeline/input_bounds.py before any model sees it; the schema says the same (api/openapi_contract.py
# defines JsonValue: numbers within 64 bits, at most MAX_JSON_DEPTH levels in the whole body).
# A marker api/openapi_contract.py replaces with a $ref to its JsonValue schema (pydantic would
# try to resolve a $ref among its own models).
JSON_VALUE_REF = {"x-memos-json-value": True}
_FREE_RULE = (f"Free JSON: numbers within {JSON_INT_MIN}..{JSON_INT_MAX}, no lone surrogates, and the whole body "
              f"nested at most {MAX_JSON_DEPTH} levels.")
FreeObject = Annotated[dict[str, Any], WithJsonSchema(
    {"type": "object", "additionalProperties": JSON_VALUE_REF, "description": _FREE_RULE})]
FreeValue = Annotated[Any, WithJsonSchema({**JSON_VALUE_REF})]


def _json_number(value: Any) -> Any:
    # JSON's numbers, as JSON Schema reads them: 5.0 is an integer, true and "5" are not numbers
    # (pydantic's lax mode takes all three).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("number_type", "Input should be a JSON number")
    return value


def integer(ge: int, le: int) -> Any:
    """An integer field within [ge, le] (the bounds set on the type, so the OpenAPI states them on a nullable one)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_json_number)]  # this order: see the schema


def number(le: float, ge: float | None = None, gt: float | None = None) -> Any:
    return Annotated[float, Field(ge=ge, gt=gt, le=le), BeforeValidator(_json_number)]


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):  # built in code, not sent by a client
        to_ms(value)
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("time_type", "a time must be a string: {rule}", {"rule": TIME_RULE})
    try:
        return parse_time(value)
    except ValueError as exc:
        raise PydanticCustomError("time", "{reason}", {"reason": str(exc)}) from None


# One rule for every client time, the same on the fast path and the route (it was the
# accepted year-0 and year-10000 times that broke whole cubes).
Time = Annotated[datetime, PlainValidator(_time), WithJsonSchema(
    {"type": "string", "format": "date-time", "pattern": TIME_PATTERN, "description": f"Must be {TIME_RULE}."})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    arguments: FreeObject = Field(default_factory=dict)
    result: FreeValue = None
    status: Annotated[str, StringConstraints(max_length=64)] | None = None
    duration_ms: integer(0, JSON_INT_MAX) | None = None


ONE_EXPIRY = {"required": ["expires_at", "ttl_s"]}  # an expiry is given one way: a time, or seconds from now


def _content_or_tool(schema: dict[str, Any]) -> None:
    # `content` may be left out of a tool call (it defaults to "called <name>") or of an image (it
    # defaults to "image"), so the schema says "content, or a tool object, or an image" rather than
    # that content is always required.
    required = [name for name in schema.pop("required", []) if name != "content"]
    if required:
        schema["required"] = required
    schema["anyOf"] = [{"required": ["content"]}, {"required": ["tool"], "properties": {"tool": {"type": "object"}}},
                       {"required": ["image"], "properties": {"image": {"type": "string"}}}]
    schema["not"] = ONE_EXPIRY


def _one_change(schema: dict[str, Any]) -> None:
    types = {"content": "string", "kind": "string", "tags": "array", "metadata": "object"}
    schema["anyOf"] = [{"required": [name], "properties": {name: {"type": kind}}} for name, kind in types.items()]
    schema["anyOf"] += [{"required": ["expires_at"]}, {"required": ["ttl_s"], "properties": {"ttl_s": {"type": "integer"}}}]
    schema["not"] = ONE_EXPIRY


def _correction_needs_wrong(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [{"properties": {"signal": {"const": "wrong"}}}, {"properties": {"correction": {"type": "null"}}}]


# A time to live: at most about 300 years, so now + ttl stays a time within years 1-9999.
TtlSeconds = integer(1, 10_000_000_000)


# Standard base64 (RFC 4648), no line breaks: what every language's encoder writes by default.
ImageBase64 = Annotated[str, StringConstraints(min_length=4, pattern=r"^[A-Za-z0-9+/]+={0,2}$")]


class ImageOut(BaseModel):
    """What is stored of an image memory beside its bytes (`GET /v1/memories/{id}/content`)."""

    sha256: str = Field(description="SHA-256 of the stored bytes (after GPS removal); the same bytes are stored once.")
    mime: str = Field(description="Sniffed from the bytes, not taken from the client.")
    width: int
    height: int
    bytes: int
    exif: dict[str, Any] = Field(description="Readable EXIF tags by name; `GPS` only when kept.")
    gps_removed: bool
    gps_kept: bool


class MemoryIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_content_or_tool)

    content: Content = Field(description="The memory's Markdown body (left out of a tool call: the call as text).")
    kind: ClientKind = Field(default=Kind.NOTE.value, description="Default `tool_call` when `tool` is given.")
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    metadata: FreeObject = Field(default_factory=dict, description="Free JSON; `speaker` or `role` is indexed.")
    id: MemoryId | None = Field(default=None, description="Client-chosen id; repeating it is a no-op.")
    created_at: Time | None = Field(default=None, description="When it happened (default: now).")
    source_ids: list[MemoryId] = Field(default_factory=list, max_length=100)
    cube: CubeId | None = Field(default=None, description="Target cube (you need write); default: your own.")
    episode: MemoryId | None = Field(default=None, description="The open episode this trace belongs to.")
    tool: ToolIn | None = Field(default=None, description="A tool call: name, arguments, result, status.")
    expires_at: Time | None = Field(default=None, description="Gone from every read at this time, then deleted.")
    ttl_s: TtlSeconds | None = Field(default=None, description="Expires this many seconds from now (not with expires_at).")
    image: ImageBase64 | None = Field(default=None, description=(
        "An image memory's bytes in base64 (JPEG, PNG, GIF or WebP, at most `max_image_bytes` decoded); `kind` is "
        "`image` (its default then). Or send the image as the multipart part `file` (docs/images.md)."))
    keep_gps: StrictBool = Field(default=False, description="Keep the image's GPS tags (removed by default).")

    @model_validator(mode="after")
    def _one_expiry(self) -> "MemoryIn":
        if {"expires_at", "ttl_s"} <= self.model_fields_set:
            raise Invalid("give expires_at or ttl_s, not both")
        return self

    @model_validator(mode="before")
    @classmethod
    def _tool_call_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tool"), dict):
            data = {"kind": Kind.TOOL_CALL.value, **data}
            if "content" not in data and isinstance(data["tool"].get("name"), str):  # left out, not sent empty
                data["content"] = f"called {data['tool']['name']}"
        if isinstance(data, dict) and isinstance(data.get("image"), str):
            data = {"kind": Kind.IMAGE.value, "content": "image", **data}
        return data


class BatchIn(Strict):
    # maxItems in the OpenAPI is the server's max_batch_items (api/openapi_contract.py); over it is a 413
    items: list[MemoryIn] = Field(min_length=1, max_length=100_000)
    cube: CubeId | None = Field(default=None, description="Default target cube for items that name none.")


class MemoryPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_change)

    content: Content | None = None
    kind: ClientKind | None = None
    tags: list[Tag] | None = Field(default=None, max_length=64)
    metadata: FreeObject | None = None
    version: integer(1, JSON_INT_MAX) | None = Field(
        default=None, description="Fail with 409 unless this is the stored version.")
    expires_at: Time | None = Field(default=None, description="A new expiry; null takes the expiry away.")
    ttl_s: TtlSeconds | None = Field(default=None, description="Expires this many seconds from now.")

    @model_validator(mode="after")
    def _something(self) -> "MemoryPatch":
        expiry = "expires_at" in self.model_fields_set or self.ttl_s is not None
        if not expiry and all(getattr(self, f) is None for f in ("content", "kind", "tags", "metadata")):
            raise ValueError("a patch changes at least one of content, kind, tags, metadata, expires_at, ttl_s")
        if {"expires_at", "ttl_s"} <= self.model_fields_set:
            raise Invalid("give expires_at or ttl_s, not both")
        return self


class RankingIn(Strict):
    """Per-request ranking overrides (for ablations and debugging); omitted fields use the server's."""

    channels: list[Literal["bm25", "vector"]] | None = Field(default=None, min_length=1)
    rrf_k: integer(1, 1000) | None = None
    bm25_weight: number(100, ge=0) | None = None
    vector_weight: number(100, ge=0) | None = None
    context: StrictBool | None = Field(default=None, description="BM25 also matches neighbouring turns.")
    content_boost: number(100, ge=0) | None = None
    recency_half_life_days: number(JSON_INT_MAX, gt=0) | None = Field(default=None, description="Boost newer memories.")
    mmr_lambda: number(1, ge=0) | None = Field(default=None, description="Diversify results (1: relevance only).")
    segment_words: integer(0, 4096) | None = Field(
        default=None, description="Cut a longer query into segments searched one by one and fused (0: never)."
    )
    segment_decay: number(1, ge=0) | None = Field(default=None, description="Weight of each older query segment.")
    time_weight: number(10, ge=0) | None = Field(
        default=None, description="Boost memories written in a month the query names by this share (0: none)."
    )
    session_share: number(10, ge=0) | None = Field(
        default=None, description="Share of its session's best other score a candidate gains (0: none)."
    )
    speaker_weight: number(10, ge=0) | None = Field(
        default=None, description="Boost memories by or about a person the query names by this share (0: none)."
    )
    strip_speakers: StrictBool | None = Field(
        default=None, description="Leave the searched cubes' speakers the query names out of the searched text."
    )
    fusion: Literal["rrf", "relative"] | None = Field(
        default=None, description="Fuse the channels by rank (rrf) or by scores scaled within each list (relative)."
    )


class SearchIn(Strict):
    query: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    top_k: integer(1, 100) = 10
    tags: list[Tag] | None = Field(default=None, max_length=64)
    kinds: list[Kind] | None = None
    tiers: list[TierName] | None = Field(default=None, description="Only these tiers (default: all).")
    collapse: StrictBool = Field(True, description="Fold near duplicates into the result they repeat.")
    since: Time | None = Field(default=None, description="Only memories created at or after this time.")
    until: Time | None = Field(
        default=None, description="Only memories created before this time; must be later than `since` (else 422)."
    )
    max_memories: integer(1, 100) | None = Field(default=None, description="Return at most this many.")
    max_tokens: integer(1, 1_000_000) | None = Field(
        default=None, description="Return only as many memories as fit in this many tokens."
    )
    ranking: RankingIn | None = None
    cubes: list[CubeId] | None = Field(
        default=None, max_length=64, description="Cubes to search (each needs read); default: yours plus mounts."
    )
    scope: Literal["local", "team", "all"] = Field(
        "local", description="`local`: the cubes; `team`: only the skills shared with this server's teams "
        "(as `team_skills`); `all`: both (docs/team.md)."
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
    shown["image"] = (ImageOut | None, Field(default=None, description="An image memory's facts (docs/images.md)."))
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
        description="Time per step: speakers (with strip_speakers), embed, vector, bm25 (on a helper thread beside them), bm25_wait, fuse, fetch."
    )
    team_skills: list[dict[str, Any]] | None = Field(
        default=None, description="With scope team or all: the team's shared skills that match, best first."
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
    model_config = ConfigDict(extra="forbid", json_schema_extra=_correction_needs_wrong)

    memory_id: MemoryId
    signal: Literal["useful", "not_useful", "wrong", "outdated"]
    correction: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = Field(
        default=None, description="Only with the signal `wrong`: what is true instead.")
    note: Annotated[str, StringConstraints(max_length=4000)] | None = None
    cube: CubeId | None = None

    @model_validator(mode="after")
    def _correction_with_wrong(self) -> "FeedbackIn":
        # Checked here rather than after the memory is looked up, so the schema's rule is the whole rule.
        if self.correction is not None and self.signal != "wrong":
            raise Invalid("a correction goes with the signal 'wrong'")
        return self


class LinkIn(Strict):
    src: MemoryId
    dst: MemoryId
    type: Annotated[str, StringConstraints(pattern=LINK_TYPE_PATTERN)]
    metadata: FreeObject = Field(default_factory=dict)
    cube: CubeId | None = None


class RenderIn(Strict):
    params: FreeObject = Field(default_factory=dict)


class Health(BaseModel):
    status: Literal["ok", "starting"]
    pending: int
    in_flight_batches: int
    batches_done: int
    uptime_s: float
    hot_vectors_mb: float
    warming: int = Field(description="Cubes whose vectors are being loaded or partitioned in the background.")
    backlog: int = Field(0, description="Writes accepted and not yet stored, as the back-pressure gate counts them.")
    backlog_max: int = Field(0, description="intake_backlog_max: the backlog at which writes get 429 (0: no bound).")
    refusing_writes: bool = Field(False, description="Whether a write arriving now is refused with 429 backlog_full.")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


# When each error status is answered; every operation declares the ones it can give (the
# schemathesis contract test, tests/api/test_openapi_contract.py, fails on any other).
ERROR_WHEN = {
    400: "`malformed_request`: the body is not UTF-8 JSON, is nested too deep, holds a lone surrogate, or a "
         "caller header is sent twice; `invalid_agent`: X-Agent-Id breaks its pattern",
    401: "`unauthorized`: auth is on and the API key is missing, unknown or revoked",
    403: "`forbidden`: your role on the cube is too weak",
    404: "`not_found`: unknown, or held in a cube you have no role on",
    409: "`conflict`: the change conflicts with the current state",
    413: "`too_large`: the body, the content or the batch is over the server's limit",
    415: "`unsupported_media_type`: the body is in a format this operation does not read",
    422: "`invalid`: a value breaks a rule (type, length, pattern, range, unknown field)",
    503: "`unavailable`: the server is starting or stopping",
    507: "`insufficient_storage`: the data directory's disk is full; nothing was written",
}
# What any operation that names its caller can answer, whatever else it does.
CALLER_ERRORS = (400, 401, 422, 503, 507)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route for these error statuses, each with the error body."""
    return {status: {"model": ErrorOut, "description": ERROR_WHEN[status]} for status in sorted(set(statuses))}


class Timeline(BaseModel):
    memory: str = Field(description="The memory asked about.")
    position: int = Field(description="Its index in `items`.")
    items: list[Memory] = Field(description="It and its neighbouring turns of the same thread, oldest first.")


class ReindexIn(Strict):
    reembed: StrictBool = Field(False, description="Recompute vectors made by another model first.")
    all: StrictBool = Field(False, description="With reembed: recompute every vector, not only stale ones.")


class ReindexAccepted(Strict):
    job_id: str
    status: str


# Answers some routes build as dicts without declaring a response model. Their shapes are kept
# here all the same: the Python SDK (memos_client/) reads them with these, and tests/sdk/ checks
# each against real answers, field for field and in order.


class MemoryVersion(BaseModel):
    version: int
    kind: str
    content: str
    tags: list[str]
    metadata: dict[str, Any]
    updated_at: str
    status: str | None = Field(default=None, description="Only on the last (current) version.")


class FeedbackEvent(BaseModel):
    signal: str
    note: str | None
    agent: str
    at: str


class MemoryHistory(BaseModel):
    id: str
    cube: str
    versions: list[MemoryVersion] = Field(description="Oldest first; the last is the current one.")
    supersedes: list[str]
    superseded_by: list[str]
    feedback: list[FeedbackEvent]


class MemoryNode(BaseModel):
    id: str
    type: Literal["memory"]
    tier: str
    kind: str
    status: str
    content: str = Field(description="Its first 200 characters.")


class EpisodeNode(BaseModel):
    id: str
    type: Literal["episode"]
    task: str


class ExternalNode(BaseModel):
    id: str
    type: Literal["external"]


class GraphEdge(BaseModel):
    src: str
    dst: str
    type: str
    created_at: str


class MemoryGraph(BaseModel):
    root: str
    cube: str
    nodes: list[Annotated[MemoryNode | EpisodeNode | ExternalNode, Field(discriminator="type")]]
    edges: list[GraphEdge]


class FeedbackOut(BaseModel):
    memory_id: str
    cube: str
    signal: Literal["useful", "not_useful", "wrong", "outdated"]
    status: Literal["done", "queued"]
    job_id: str | None
    memory: Memory
    superseded_by: list[str]


class LinkOut(BaseModel):
    src: str
    dst: str
    type: str
    cube: str
    status: str


class SkillStepOut(BaseModel):
    tool: str
    arguments: dict[str, Any]
    templated: list[str] = Field(description="Argument keys whose values are templates over the parameters.")
    optional: list[str] = Field(description="Templated keys left out when their parameter is not given.")


class SkillOut(BaseModel):
    id: str
    version: int
    name: str
    tool_name: str
    description: str
    when_to_use: str
    steps: list[SkillStepOut]
    parameters: dict[str, Any] = Field(description="JSON Schema of the parameters object.")
    success_rate: float
    runs: int
    successes: int
    examples: list[str]
    failures: list[str]
    task_pattern: str | None
    cube: str


class SkillTool(BaseModel):
    openai: dict[str, Any] = Field(description="An OpenAI function tool definition.")
    mcp: dict[str, Any] = Field(description="An MCP tool definition.")


class RenderedStep(BaseModel):
    tool: str
    arguments: dict[str, Any]


class RenderedSkill(BaseModel):
    id: str
    version: int
    cube: str
    markdown: str
    steps: list[RenderedStep]
