"""Bodies of the lifecycle routes (api/routers/governance.py): cleanup, retention rules, the governance report."""

from __future__ import annotations

from typing import Annotated, Literal

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from api.schemas import JSON_INT_MAX, JSON_INT_MIN, NOT_ONLY_SPACE, CubeId, Memory, Strict, Tag, TierName, Time, integer
from pipeline.lifecycle import Action
from pipeline.records import Kind

StatusName = Literal["active", "duplicate", "superseded", "archived"]
ActionName = Literal[tuple(a.value for a in Action)]  # type: ignore[valid-type]
Query = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=NOT_ONLY_SPACE)]


def _action_arguments(schema: dict[str, Any]) -> None:
    # The rules the service holds an action to, stated so the OpenAPI says exactly what is refused.
    schema["anyOf"] = [
        {"properties": {"action": {"enum": [Action.ADD_TAG.value, Action.REMOVE_TAG.value]}, "tag": {"type": "string"},
                        "to": {"type": "null"}}, "required": ["tag"]},
        {"properties": {"action": {"const": Action.MOVE.value}, "to": {"type": "string"}, "tag": {"type": "null"}},
         "required": ["to"]},
        {"properties": {"action": {"enum": [Action.DELETE.value, Action.ARCHIVE.value, Action.RESTORE.value]},
                        "tag": {"type": "null"}, "to": {"type": "null"}}},
    ]


def _one_limit(schema: dict[str, Any]) -> None:
    schema["oneOf"] = [{"required": ["max_age_s"], "properties": {"max_age_s": {"type": "integer"}}},
                       {"required": ["max_count"], "properties": {"max_count": {"type": "integer"}}}]
    # Only active memories are archived.
    schema["anyOf"] = [{"properties": {"action": {"const": "delete"}}}, {"properties": {"status": {"const": "active"}}}]


class CleanupFilterIn(Strict):
    """Every condition given must hold. Keys are named like GET /v1/memories' query."""

    cube: CubeId | None = Field(default=None, description="The cube (you need write); default: your own.")
    tier: TierName | None = None
    kind: Kind | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64, description="Memories holding every one of these.")
    status: StatusName | Literal["all"] | None = Field(
        default=None, description="Default: `archived` for restore, else `active` (unless duplicates/superseded).")
    before: Time | None = Field(default=None, description="Created before this time.")
    after: Time | None = Field(default=None, description="Created at or after this time; earlier than `before`.")
    duplicates: StrictBool = Field(False, description="Exact duplicates (status `duplicate`).")
    superseded: StrictBool = Field(False, description="World facts a newer fact replaced (status `superseded`).")
    feedback_at_most: integer(JSON_INT_MIN, JSON_INT_MAX) | None = Field(
        default=None, description="Net feedback score at most this.")
    never_retrieved: StrictBool = Field(False, description="Never returned by a search.")
    query: Query | None = Field(default=None, description="Every word of it in the content (case-insensitive).")


class CleanupIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_action_arguments)

    filter: CleanupFilterIn = Field(default_factory=CleanupFilterIn)
    action: ActionName
    dry_run: StrictBool = Field(False, description="Report `matched` and a `sample`; change nothing.")
    tag: Tag | None = Field(default=None, description="The tag of add_tag and remove_tag.")
    to: CubeId | None = Field(default=None, description="move: the cube to move into (you need write).")


class CleanupOut(BaseModel):
    matched: int = Field(description="How many memories the action changes (a real run: changed).")
    sample: list[Memory] = Field(description="The first few of them, newest first.")
    dry_run: bool
    job_id: str | None = Field(description="The job carrying the ops out (GET /v1/jobs/{id}); null on a dry run.")
    status: Literal["done", "queued", "failed"]


class RetentionRuleIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_limit)

    tier: TierName | None = None
    kind: Kind | None = None
    tag: Tag | None = None
    status: StatusName = "active"
    max_age_s: integer(1, 10_000_000_000) | None = Field(default=None, description="Memories older than this.")
    max_count: integer(0, 1_000_000_000) | None = Field(
        default=None, description="Keep the newest this many of each kind; the rest go.")
    action: Literal["delete", "archive"] = "delete"


class RetentionRuleOut(BaseModel):
    id: str
    tier: str | None
    kind: str | None
    tag: str | None
    status: str
    max_age_s: int | None
    max_count: int | None
    action: str
    created_by: str
    created_at: str


class RetentionRules(BaseModel):
    cube: str
    rules: list[RetentionRuleOut]


class Count(BaseModel):
    name: str
    memories: int


class OldMemory(BaseModel):
    id: str
    created_at: str
    tier: str
    kind: str
    content: str


class GovernanceReportOut(BaseModel):
    cube: str
    generated_at: str
    size_bytes: int = Field(description="The cube file (with its WAL) and its image blobs on disk.")
    retention_rules: int
    total: int = Field(description="Memories shown by reads, any status.")
    active: int
    by_tier: list[Count]
    by_kind: list[Count]
    by_status: list[Count]
    by_tag: list[Count]
    by_age: list[Count] = Field(description="Active memories by age.")
    duplicates: int
    duplicate_groups: int = Field(description="Contents stored more than once.")
    superseded_facts: int
    archived: int
    expiring: int = Field(description="Memories with an expiry still ahead.")
    expired_unswept: int = Field(description="Expired memories the sweeper has not deleted yet.")
    never_retrieved: int = Field(description="Active memories no search has returned.")
    oldest: list[OldMemory]
