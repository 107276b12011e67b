"""The memos-interchange v1 object model: one typed definition per object a bundle holds.

A bundle is a stream of JSON objects, each with an `object` field naming its type:

    header       first line of a `.memos.jsonl`: format, version, producer, cubes
    episode      a task an agent worked on (its traces name it in `episode`)
    memory       one record of a cube; `tier` picks its shape: TraceRecord, WorldRecord, SkillRecord
    vector       a memory's (or an episode task's) embedding, with the model name and dimension
    version      an earlier version of a trace or world memory
    skill_version an earlier version of a skill (its metadata is the whole skill of that version)
    feedback     one feedback event on a memory
    link         a typed edge between two memories (or a memory and an episode)
    manifest     last line of a `.memos.jsonl` (`manifest.json` in a `.memos.zip`): counts and sha256 per part

Field names follow Portable AI Memory (PAM) v1.0 where they mean the same thing (`content`,
`content_hash`, `status`, `tags`, `metadata`, `temporal.{created_at, updated_at, valid_from,
valid_until}`, `provenance.{platform, conversation_ref, ...}`, a link's `from`/`to`/`type`, a
vector's `memory_id`/`model`/`dimensions`/`vector`), and MemoryRecord's (pipeline/records.py)
where a field is ours alone (`tier`, `kind`, `version`, `episode`, `tool`, `feedback`,
`source_ids`, `duplicate_of`). docs/interchange.md is the prose; docs/interchange/v1.schema.json
is generated from this module (`json_schema()`), and a test keeps the two equal.

What a format module (pipeline/interchange/formats/<name>.py) must yield from `read(path)`:
plain dicts, each one of the line objects above except `header` and `manifest`, that
`validate_line` accepts. In particular:

- every object has `object`; ids are stable for the same input (derive them from the source's own
  ids, e.g. `chatgpt-<conversation id>-<message id>`, never random), so importing the same file
  twice stores nothing new; ids match `[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}`;
- a memory from another system is a `trace` (`kind` message, tool_call, image, persona or note)
  with `content`, `temporal.created_at` and `provenance.platform` (the source, e.g. "chatgpt");
  it is imported like a live write, so world facts are read from it by the server itself. A
  `world` record is yielded only with a complete fact in `metadata` (see FactBody), a `skill`
  only with a complete SkillBody;
- an `episode` comes before the traces that name it, a memory before the links from it and the
  vector of it; `episode.closed_at` set means the import closes it (and the server summarizes it);
- times are ISO 8601 strings (`iso(ms)` makes one from milliseconds); a naive time is taken as UTC.

`write(objects, path)` receives the same objects as an export of our own bundle produces (all of
them, tiers world and skill included, with `version`, `status` and friends) and writes what the
foreign format can hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

FORMAT = "memos-interchange"
VERSION = "1.0"  # major.minor: a newer minor only adds optional fields; a newer major is refused
MAJOR, MINOR = (int(p) for p in VERSION.split("."))
PRODUCER = "memos"
SCHEMA_ID = "https://memos.invalid/interchange/v1.schema.json"

# --- scalars ------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def iso(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with milliseconds (`2026-01-02T03:04:05.678Z`), exactly."""
    return (_EPOCH + ms * _MS).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_ms(value: str) -> int:
    """An ISO 8601 time as milliseconds since the epoch, exactly (no float on the way); naive means UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith(("Z", "z")) else value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MS


def _check_time(value: str) -> str:
    try:
        to_ms(value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{value[:40]!r} is not an ISO 8601 time") from exc
    return value


Timestamp = Annotated[str, StringConstraints(max_length=40), AfterValidator(_check_time)]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^sha256:[a-f0-9]{64}$")]
CubeId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
AgentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

TierName = Literal["trace", "world", "skill"]
TraceKind = Literal["message", "tool_call", "image", "persona", "note", "summary"]
Status = Literal["active", "duplicate", "superseded", "archived"]  # archived: docs/governance.md
# PAM's closed taxonomy; ours is `tier` + `kind`, and `type` is derived from them for PAM readers.
PamType = Literal["fact", "preference", "skill", "context", "relationship", "goal", "instruction", "identity",
                  "environment", "project", "custom"]
Signal = Literal["useful", "not_useful", "wrong", "outdated"]
Outcome = Literal["success", "failure", "unknown"]
Predicate = Literal["name", "age", "is", "works_as", "works_at", "studies", "lives_in", "is_from", "born_in",
                    "married_to", "has_child", "has_sibling", "has_pet", "likes", "dislikes", "prefers", "speaks",
                    "allergic_to", "uses", "owns", "plans_to"]


class Closed(BaseModel):
    """Unknown fields are an error (a typo is caught); readers of a newer minor strip them first."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """Stored verbatim (a memory's metadata): fields this version does not know are kept."""

    model_config = ConfigDict(extra="allow")


# --- blocks -------------------------------------------------------------------------------------


class Producer(Closed):
    name: str = Field(description="The program that wrote the bundle, e.g. `memos`.")
    version: str = Field(description="Its version.")


class CubeInfo(Closed):
    id: CubeId
    kind: Literal["agent", "kb"] | None = None
    name: str | None = None
    description: str | None = None
    owner: str | None = None


class Temporal(Closed):
    """PAM's temporal block. `valid_until` is MemoryRecord's `valid_to`."""

    created_at: Timestamp
    updated_at: Timestamp | None = None
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    superseded_by: Id | None = Field(None, description="Derived from `supersedes` links; ignored on import.")


class Provenance(Closed):
    """PAM's provenance block: where a memory came from."""

    platform: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{2,32}$")] = "memos"
    platform_user_id: str | None = None
    conversation_ref: str | None = None
    message_ref: str | None = None
    extraction_method: Literal["llm_inference", "explicit_user_input", "api_export", "browser_extraction",
                               "manual", None] = None
    extracted_at: Timestamp | None = None
    extractor: str | None = None


class ToolCall(Closed):
    """A tool call a trace records (MemoryRecord.tool)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    status: Annotated[str, StringConstraints(max_length=64)] | None = None
    duration_ms: int | None = Field(default=None, ge=0)


class FactBody(Open):
    """A world record's metadata: the structured fact (pipeline/world_facts/fact.py WorldFact.to_dict)."""

    subject: Annotated[str, StringConstraints(min_length=1)]
    relation: str | None = None
    predicate: Predicate
    object: Annotated[str, StringConstraints(min_length=1)]
    polarity: bool
    confidence: float = Field(ge=0, le=1)
    valid_from: int = Field(description="Milliseconds since the epoch (the stored form, kept verbatim).")
    valid_to: int | None = None
    source_ids: list[str] = Field(default_factory=list)
    single_valued: bool | None = None
    rule: str = "explicit"
    evidence: str = ""


class SkillStep(Open):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    templated: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)


class SkillBody(Open):
    """A skill record's metadata: the whole skill of its version (pipeline/crystallize/skill.py Skill.to_dict)."""

    id: Id
    version: int = Field(ge=1)
    name: str
    tool_name: str
    description: str
    when_to_use: str
    steps: list[SkillStep]
    parameters: dict[str, Any]
    success_rate: float = Field(ge=0, le=1)
    runs: int = Field(ge=0)
    successes: int = Field(ge=0)
    examples: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)
    signature: list[str] = Field(default_factory=list)
    bindings: list[dict[str, Any]] = Field(default_factory=list)
    task_pattern: str | None = None
    example_tasks: list[str] = Field(default_factory=list)
    task_centroid: list[float] | None = None
    centroid_count: int = 0


# --- line objects -------------------------------------------------------------------------------


class Header(Closed):
    """First line of a `.memos.jsonl`: enough to refuse a newer major before reading further."""

    object: Literal["header"] = "header"
    format: Literal["memos-interchange"] = FORMAT
    version: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+$")] = VERSION
    created_at: Timestamp
    producer: Producer
    cubes: list[CubeInfo] = Field(default_factory=list)


class PartDigest(Closed):
    sha256: Sha256 = Field(description="Of the part's exact bytes (JSONL: its lines, each with its newline).")
    count: int = Field(ge=0, description="Objects (or rows, or files) in the part.")
    path: str | None = Field(None, description="In a .memos.zip: the part's file name.")


class EmbeddingInfo(Closed):
    model: str
    dimensions: int = Field(ge=1)


class Manifest(Closed):
    """What the bundle holds: written last in a stream, so a cut stream has none and is refused."""

    object: Literal["manifest"] = "manifest"
    format: Literal["memos-interchange"] = FORMAT
    version: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+$")] = VERSION
    created_at: Timestamp
    producer: Producer
    cubes: list[CubeInfo] = Field(default_factory=list)
    counts: dict[str, int] = Field(description="Objects per `object` type.")
    parts: dict[str, PartDigest] = Field(description="Per part (JSONL: per object type; ZIP: per file).")
    embedding: EmbeddingInfo | None = Field(None, description="The model the bundle's vectors come from.")
    container: Literal["jsonl", "zip", "vault"] | None = Field(None, description="Omitted in a .memos.jsonl.")
    export_type: Literal["full"] = "full"


class _MemoryBase(Closed):
    object: Literal["memory"] = "memory"
    id: Id
    cube: CubeId | None = Field(None, description="The cube it was exported from (the import picks the target).")
    agent: AgentId | None = Field(None, description="Who wrote it (default on import: the importing agent).")
    type: PamType | None = Field(None, description="PAM's type, derived from tier and kind; ignored on import.")
    content: Annotated[str, StringConstraints(min_length=1)]
    content_hash: Sha256 | None = Field(None, description="PAM's hash of the normalised content; ignored on import.")
    status: Status = "active"
    version: int = Field(1, ge=1)
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    source_ids: list[Id] = Field(default_factory=list)
    duplicate_of: Id | None = None
    episode: Id | None = None
    feedback: int = Field(0, description="Net feedback score (the events are `feedback` objects).")
    temporal: Temporal
    provenance: Provenance = Field(default_factory=Provenance)


class ImageFacts(Closed):
    """An image memory's stored image: its facts here, its bytes in a ZIP bundle's `images/<sha256>`."""

    sha256: Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{64}$")] = Field(
        description="SHA-256 (hex) of the bytes; the ZIP holds them as `images/<sha256>`.")
    mime: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    bytes: int = Field(ge=1)
    exif: dict[str, Any] = Field(default_factory=dict)
    gps_removed: bool = False
    gps_kept: bool = False
    thumbnail_mime: str | None = Field(None, description="Ignored on import: the thumbnail is made again.")
    ocr_text: str = Field("", description="The text OCR read from the image, indexed with its caption.")


class TraceRecord(_MemoryBase):
    """What happened: a message, tool call, image, persona, note, or an episode's summary."""

    tier: Literal["trace"]
    kind: TraceKind = "note"
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free JSON; `speaker`/`role`, an image's "
                                     "`caption`, `url`, `mime`, `width`, `height` live here.")
    tool: ToolCall | None = None
    image: ImageFacts | None = Field(None, description="An image memory's stored image (kind `image`).")


class WorldRecord(_MemoryBase):
    """A belief about the world, with validity (`temporal.valid_from`/`valid_until`) and supersession."""

    tier: Literal["world"]
    kind: Literal["fact"] = "fact"
    metadata: FactBody


class SkillRecord(_MemoryBase):
    """A crystallized skill at its current version; earlier versions are `skill_version` objects."""

    tier: Literal["skill"]
    kind: Literal["skill"] = "skill"
    metadata: SkillBody


MemoryObject = Annotated[Union[TraceRecord, WorldRecord, SkillRecord], Field(discriminator="tier")]


class Version(Closed):
    """An earlier version of a trace or world memory (its current version is the memory object)."""

    object: Literal["version"] = "version"
    memory_id: Id
    version: int = Field(ge=1)
    kind: str
    content: str
    tags: list[Tag] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    updated_at: Timestamp


class SkillVersion(Closed):
    """An earlier version of a skill, whole."""

    object: Literal["skill_version"] = "skill_version"
    memory_id: Id
    version: int = Field(ge=1)
    kind: Literal["skill"] = "skill"
    content: str
    tags: list[Tag] = Field(default_factory=list)
    metadata: SkillBody
    updated_at: Timestamp


class Episode(Closed):
    object: Literal["episode"] = "episode"
    id: Id
    cube: CubeId | None = None
    task: str = ""
    agent: AgentId | None = None
    outcome: Outcome = "unknown"
    opened_at: Timestamp
    closed_at: Timestamp | None = None


class FeedbackEvent(Closed):
    object: Literal["feedback"] = "feedback"
    memory_id: Id
    signal: Signal
    note: str | None = None
    agent: AgentId | None = None
    at: Timestamp


class Link(Closed):
    """PAM's relation (`from`, `to`, `type`, `created_at`); ours has no id: (from, type, to) is the key."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    object: Literal["link"] = "link"
    from_: Id = Field(alias="from")
    to: Id
    type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    created_at: Timestamp
    metadata: dict[str, Any] = Field(default_factory=dict)


class Vector(Closed):
    """PAM's embedding object, inline: of a memory (`memory_id`) or of an episode's task (`episode_id`)."""

    object: Literal["vector"] = "vector"
    memory_id: Id | None = None
    episode_id: Id | None = None
    model: str
    dimensions: int = Field(ge=1)
    vector: list[float]


Line = Annotated[
    Union[Header, Manifest, MemoryObject, Version, SkillVersion, Episode, FeedbackEvent, Link, Vector],
    Field(discriminator="object"),
]

# The order an exporter writes and an importer relies on: every episode (each followed by its task's
# vector) before the memories; each memory followed by its vector, versions, feedback events and
# the links that start at it.
OBJECT_TYPES = ("header", "episode", "memory", "vector", "version", "skill_version", "feedback", "link", "manifest")
DATA_TYPES = tuple(t for t in OBJECT_TYPES if t not in ("header", "manifest"))
MEMORY_MODELS: dict[str, type[_MemoryBase]] = {"trace": TraceRecord, "world": WorldRecord, "skill": SkillRecord}
MODELS: dict[str, type[BaseModel]] = {
    "header": Header, "manifest": Manifest, "version": Version, "skill_version": SkillVersion, "episode": Episode,
    "feedback": FeedbackEvent, "link": Link, "vector": Vector,
}


# --- checking -----------------------------------------------------------------------------------


class LineError(ValueError):
    """One object of a bundle is not valid: where (line), which field, and why."""

    def __init__(self, line: int | str, field: str, problem: str) -> None:
        self.line, self.field, self.problem = line, field, problem
        where = f"line {line}" if isinstance(line, int) else str(line)
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class VersionRefused(ValueError):
    """The bundle was written by a newer major version of the format."""


def check_version(version: str) -> bool:
    """Whether the reader must strip fields it does not know (a newer minor); refuses a newer major."""
    try:
        major, minor = (int(p) for p in version.split("."))
    except ValueError as exc:
        raise VersionRefused(f"format version {version[:20]!r} is not major.minor") from exc
    if major != MAJOR:
        raise VersionRefused(f"this bundle is {FORMAT} {version}; this server reads {MAJOR}.x only "
                             f"(export it again with a {FORMAT} {MAJOR}.x writer)")
    return minor > MINOR


def model_for(data: dict[str, Any]) -> type[BaseModel] | None:
    kind = data.get("object")
    if kind == "memory":
        return MEMORY_MODELS.get(data.get("tier"))  # type: ignore[arg-type]
    return MODELS.get(kind)  # type: ignore[arg-type]


def strip_unknown(model: type[BaseModel], data: Any) -> Any:
    """`data` without the fields `model` (recursively, through its closed blocks) does not know."""
    if not isinstance(data, dict) or model.model_config.get("extra") != "forbid":
        return data
    known = {(f.alias or name): f for name, f in model.model_fields.items()}
    out = {}
    for key, value in data.items():
        f = known.get(key)
        if f is None:
            continue
        inner = _block_model(f.annotation)
        out[key] = strip_unknown(inner, value) if inner is not None else value
    return out


def _block_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def validate_line(data: Any, line: int | str, *, lenient: bool = False) -> BaseModel:
    """One object, checked; LineError names the line and the first bad field. `lenient` (a newer
    minor version) drops unknown fields instead of refusing them."""
    if not isinstance(data, dict):
        raise LineError(line, "", f"expected a JSON object, got {type(data).__name__}")
    model = model_for(data)
    if model is None:
        if data.get("object") == "memory":
            raise LineError(line, "tier", f"{str(data.get('tier'))[:20]!r} is not one of trace, world, skill")
        raise LineError(line, "object", f"{str(data.get('object'))[:30]!r} is not one of {', '.join(OBJECT_TYPES)}")
    if lenient:
        data = strip_unknown(model, data)
    try:
        return model.model_validate(data)
    except Exception as exc:  # pydantic's ValidationError: named by its first error's location
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            raise
        first = errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        return _raise(line, field, str(first.get("msg", exc)))


def _raise(line: int | str, field: str, problem: str):
    raise LineError(line, field, problem)


# --- derived values -----------------------------------------------------------------------------

_PAM_TYPE_OF_PREDICATE = {
    "likes": "preference", "dislikes": "preference", "prefers": "preference",
    "name": "identity", "age": "identity", "is": "identity", "is_from": "identity", "born_in": "identity",
    "lives_in": "environment", "married_to": "relationship", "has_child": "relationship",
    "has_sibling": "relationship", "has_pet": "relationship", "plans_to": "goal",
}


def pam_type(tier: str, kind: str, metadata: dict[str, Any]) -> str:
    """PAM's type for a record of ours: skills are skills, facts by predicate, traces are context
    (a persona is identity)."""
    if tier == "skill":
        return "skill"
    if tier == "world":
        return _PAM_TYPE_OF_PREDICATE.get(str(metadata.get("predicate")), "fact")
    return "identity" if kind == "persona" else "context"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one line of a bundle (docs/interchange/v1.schema.json)."""
    schema = TypeAdapter(Line).json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"{FORMAT} {VERSION}: one object of a bundle",
        "description": "Each line of a .memos.jsonl (and of objects.jsonl in a .memos.zip) is one of these "
                       "objects, told apart by `object`; see docs/interchange.md.",
        **schema,
    }


if __name__ == "__main__":  # python -m pipeline.interchange.model > docs/interchange/v1.schema.json
    import json
    import sys

    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
