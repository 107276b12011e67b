"""Memories: the filtered list (a cursor page at a time), hybrid search with each result's `why` and a
token budget, a memory's page (Markdown, metadata, versions with diffs, timeline, links), edit with the
optimistic version check, delete with confirmation, and bulk tag, untag, delete and share."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response
from pydantic import ValidationError

from api.schemas import MemoryPatch
from api.web.page import PageRoute, Ui, UiDep, see_other
from api.web.version_diff import diff_versions
from pipeline.errors import Conflict, Invalid, MemosError, NotFound
from pipeline.filters import SearchFilter
from pipeline.ids import MEMORY_ID
from pipeline.ranking.budget import Budget
from pipeline.records import CLIENT_KINDS, Kind
from service.hybrid_search import SearchRequest
from service.memories import MemoryChanges
from storage.cube.reader import encode_cursor

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TIERS = ("trace", "world", "skill")
KINDS = tuple(k.value for k in Kind)
STATUSES = ("active", "duplicate", "superseded", "all")
PAGE_SIZE = 50

MemoryIdPath = Annotated[str, Path(pattern=f"^{MEMORY_ID.pattern}$")]
CubeQuery = Annotated[str | None, Query(max_length=200)]
Text = Annotated[str, Form(max_length=200_000)]
Short = Annotated[str, Form(max_length=2_000)]


@dataclass(frozen=True)
class ListFilter:
    """The list's and the search's filters, as the form sends them (empty fields mean no filter)."""

    cube: str | None
    tier: str | None
    kind: str | None
    tag: str | None
    status: str
    since: date | None
    until: date | None

    @property
    def since_ms(self) -> int | None:
        return _day_ms(self.since) if self.since else None

    @property
    def until_ms(self) -> int | None:  # the whole `until` day is in the range
        return _day_ms(self.until + timedelta(days=1)) if self.until else None

    def query(self, **extra: Any) -> dict[str, Any]:
        fields = {"cube": self.cube, "tier": self.tier, "kind": self.kind, "tag": self.tag,
                  "status": self.status if self.status != "active" else None,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None, **extra}
        return {k: v for k, v in fields.items() if v not in (None, "")}


def _day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.get("/ui/memories")
def memories_page(
    ui: UiDep,
    cube: CubeQuery = None,
    tier: Literal["", "trace", "world", "skill"] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    tag: Annotated[str, Query(max_length=128)] = "",
    status: Literal["active", "duplicate", "superseded", "all"] = "active",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    q: Annotated[str, Query(max_length=4096)] = "",
    top_k: Annotated[int, Query(ge=1, le=100)] = 10,
    max_tokens: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    if kind and kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    filt = ListFilter(_blank(cube), tier or None, kind or None, _blank(tag), status, _date(since, "since"),
                      _date(until, "until"))
    if filt.since and filt.until and filt.until < filt.since:
        raise Invalid("until must not be before since")
    # A search shows its results instead of the list (the list is one click away, filters kept).
    search = _search(ui, filt, q.strip(), top_k, _budget_tokens(max_tokens)) if q.strip() else None
    page = _list_page(ui, filt, cursor) if search is None else None
    cubes = ui.rt.cubes.list(ui.caller)
    return ui.page("memories.html", "Memories", title="Memories", filt=filt, page=page, search=search, q=q,
                   top_k=top_k, max_tokens=max_tokens, cubes=[c for c in cubes if c["role"] is not None],
                   writable=[c for c in cubes if c["role"] in ("write", "admin")],
                   own=filt.cube or ui.rt.access.own_cube(ui.caller).id, tiers=TIERS, kinds=KINDS, statuses=STATUSES)


@router.get("/ui/search")
def search_results(
    ui: UiDep,
    q: Annotated[str, Query(min_length=1, max_length=4096)],
    cube: CubeQuery = None,
    top_k: Annotated[int, Query(ge=1, le=100)] = 10,
    max_tokens: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """The search alone (what the Memories page's search box swaps in with htmx)."""
    filt = ListFilter(_blank(cube), None, None, None, "active", None, None)
    search = _search(ui, filt, q.strip(), top_k, _budget_tokens(max_tokens))
    template = "partials/search_results.html" if ui.is_htmx else "search.html"
    return ui.page(template, "Memories", title="Search", search=search, q=q, filt=filt)


def _date(value: str, name: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{name} must be a date (YYYY-MM-DD), got {value[:20]!r}") from None


def _budget_tokens(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= 1_000_000:
        raise Invalid("the token budget must be a whole number from 1 to 1000000")
    return int(value)


def _list_page(ui: Ui, filt: ListFilter, cursor: str | None) -> dict[str, Any]:
    """One page of the cube's memories, newest first. A time range rides on the list's own cursor: `until`
    starts the page there, and `since` ends the list at the first older memory."""
    start = cursor
    if start is None and filt.until_ms is not None:
        start = encode_cursor(filt.until_ms, "")  # the list resumes strictly before (until, "")
    found = ui.rt.memories.list(ui.caller, cube_id=filt.cube, limit=PAGE_SIZE, cursor=start, tag=filt.tag,
                                kind=filt.kind, status=None if filt.status == "all" else filt.status, tier=filt.tier)
    items, next_cursor = found["items"], found["next_cursor"]
    if filt.since_ms is not None:
        kept = [m for m in items if _ms(m["created_at"]) >= filt.since_ms]
        if len(kept) < len(items):
            items, next_cursor = kept, None
    cube = filt.cube or ui.rt.access.own_cube(ui.caller).id
    return {"cube": cube, "items": items, "next_cursor": next_cursor, "first": cursor is None}


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _search(ui: Ui, filt: ListFilter, q: str, top_k: int, max_tokens: int | None) -> dict[str, Any]:
    request = SearchRequest(
        query=q, top_k=top_k,
        filter=SearchFilter(kinds=frozenset({filt.kind}) if filt.kind else None,
                            tags=frozenset({filt.tag}) if filt.tag else None,
                            tiers=frozenset({filt.tier}) if filt.tier else None,
                            since=filt.since_ms, until=filt.until_ms),
        cubes=(filt.cube,) if filt.cube else None,
        budget=Budget(top_k, max_tokens),
    )
    return {**ui.rt.search.search(ui.caller, request), "query": q, "max_tokens": max_tokens}


# --- one memory ------------------------------------------------------------------------------


@router.get("/ui/memories/{memory_id}")
def memory_page(
    ui: UiDep, memory_id: MemoryIdPath, cube: CubeQuery = None,
    a: Annotated[int | None, Query(ge=1)] = None, b: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    memory = ui.rt.memories.get(ui.caller, memory_id, _blank(cube))
    return _memory_page(ui, memory, a=a, b=b)


def _memory_page(ui: Ui, memory: dict[str, Any], *, a: int | None = None, b: int | None = None,
                 form: dict[str, Any] | None = None, conflict: dict[str, Any] | None = None,
                 problem: str | None = None) -> Response:
    rt, caller, cube = ui.rt, ui.caller, memory["cube"]
    pending = memory["status"] == "pending"
    history = rt.graph.history(caller, memory["id"], cube) if not pending else None
    versions = history["versions"] if history else []
    diff = diff_versions(versions, a, b) if len(versions) > 1 else None
    try:
        timeline = rt.memories.timeline(caller, memory["id"], 3, 3, cube) if not pending else None
    except NotFound:
        timeline = None
    links = rt.graph.graph(caller, memory["id"], 1, None, cube)["edges"] if not pending else []
    cubes = rt.cubes.list(caller)
    role = next((c["role"] for c in cubes if c["id"] == cube), None)
    form = form or {"content": memory["content"], "tags": ", ".join(memory["tags"]), "kind": memory["kind"],
                    "metadata": json.dumps(memory["metadata"], indent=2, ensure_ascii=False),
                    "version": memory["version"]}
    return ui.page("memory.html", "Memories", title="Memory", memory=memory, history=history, diff=diff,
                   timeline=timeline, links=links, can_write=role in ("write", "admin"), form=form,
                   conflict=conflict, problem=problem, client_kinds=[k.value for k in CLIENT_KINDS])


@router.post("/ui/memories/{memory_id}")
async def save_memory(
    ui: UiDep, memory_id: MemoryIdPath, content: Text, tags: Short = "", kind: Short = "",
    metadata: Text = "{}", version: Short = "", cube: Short = "",
) -> Response:
    """Save an edit; a newer stored version shows as a conflict with its text, and the edit is kept."""
    current = ui.rt.memories.get(ui.caller, memory_id, _blank(cube))
    form = {"content": content, "tags": tags, "kind": kind or current["kind"], "metadata": metadata,
            "version": version}
    try:
        patch = MemoryPatch(
            content=content, tags=_tags(tags), kind=kind if kind and kind != current["kind"] else None,
            metadata=_metadata(metadata), version=int(version) if version.strip().isdigit() else None,
        )
    except (ValidationError, Invalid) as exc:
        return _memory_page(ui, current, form=form, problem=_problem(exc))
    changes = MemoryChanges(content=patch.content, kind=patch.kind, tags=tuple(patch.tags or ()),
                            metadata=patch.metadata, version=patch.version)
    try:
        saved = await ui.rt.memories.update(ui.caller, memory_id, changes, current["cube"])
    except Conflict as exc:
        newer = ui.rt.memories.get(ui.caller, memory_id, current["cube"])
        # The edit stays in the form, now against the newer version: saving again overwrites it on purpose.
        return _memory_page(ui, newer, form={**form, "version": newer["version"]},
                            conflict={"message": exc.message, "version": newer["version"], "content": newer["content"],
                                      "tags": newer["tags"]})
    if saved.memory is None:
        ui.flash(f"Saved; the change is still being applied (job {saved.job_id}).")
    else:
        ui.flash(f"Saved as version {saved.memory['version']}.")
    return see_other(f"/ui/memories/{memory_id}?cube={current['cube']}")


def _tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


def _metadata(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise Invalid(f"metadata is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(value, dict):
        raise Invalid("metadata must be a JSON object, like {\"speaker\": \"alice\"}")
    return value


def _problem(exc: Exception) -> str:
    if isinstance(exc, MemosError):
        return exc.message
    assert isinstance(exc, ValidationError)
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()[:5])


@router.get("/ui/memories/{memory_id}/delete")
def confirm_delete_page(ui: UiDep, memory_id: MemoryIdPath, cube: CubeQuery = None) -> Response:
    memory = ui.rt.memories.get(ui.caller, memory_id, _blank(cube))
    return ui.page("memory_delete.html", "Memories", title="Delete memory", memory=memory)


@router.post("/ui/memories/{memory_id}/delete")
async def delete_memory(ui: UiDep, memory_id: MemoryIdPath, cube: Short = "") -> Response:
    deleted = await ui.rt.memories.delete(ui.caller, memory_id, _blank(cube))
    ui.flash(f"Deleted memory {memory_id}." if deleted.status == "done"
             else f"Deleting memory {memory_id} (job {deleted.job_id}).")
    return see_other(f"/ui/memories?cube={deleted.cube}")


# --- bulk ------------------------------------------------------------------------------------


@router.post("/ui/bulk")
async def bulk(
    ui: UiDep,
    action: Annotated[Literal["tag", "untag", "share", "delete", "confirm_delete"], Form()],
    ids: Annotated[list[str], Form(max_length=1000)],
    cube: Short = "", tag: Short = "", to_cube: Short = "",
) -> Response:
    """Tag, untag, share or delete the selected memories of one cube, through the same services as one by one."""
    cube_id = _blank(cube)
    wanted = list(dict.fromkeys(i for i in ids if MEMORY_ID.fullmatch(i)))
    back = "/ui/memories" + (f"?cube={cube_id}" if cube_id else "")
    if not wanted:
        ui.flash("Select at least one memory first.")
        return see_other(back)
    if action == "delete":  # ask first
        memories = [ui.rt.memories.get(ui.caller, i, cube_id) for i in wanted]
        return ui.page("bulk_delete.html", "Memories", title="Delete memories", memories=memories, cube=cube_id or "")
    if action in ("tag", "untag"):
        label = tag.strip()
        try:
            MemoryPatch(tags=[label])  # the API's own rule for a tag
        except ValidationError:
            ui.flash("Type the tag to add or remove first (1–128 characters, no control characters).")
            return see_other(back)
        done = await asyncio.gather(*(_retag(ui, i, cube_id, label, action == "tag") for i in wanted))
        ui.flash(f"{'Tagged' if action == 'tag' else 'Untagged'} {sum(done)} of {len(wanted)} memories "
                 f"{'with' if action == 'tag' else 'from'} {label!r}.")
    elif action == "share":
        if not to_cube.strip():
            ui.flash("Choose the cube to share into first.")
            return see_other(back)
        for memory_id in wanted:  # one at a time: each copy is a write the audit log records
            await ui.rt.memories.share(ui.caller, memory_id, to_cube.strip(), cube_id)
        ui.flash(f"Shared {len(wanted)} memories into {to_cube.strip()}.")
    else:  # confirm_delete
        results = await asyncio.gather(*(ui.rt.memories.delete(ui.caller, i, cube_id) for i in wanted))
        ui.flash(f"Deleted {sum(1 for r in results if r.status == 'done')} of {len(wanted)} memories.")
    return see_other(back)


async def _retag(ui: Ui, memory_id: str, cube_id: str | None, tag: str, add: bool) -> bool:
    """Adds or removes one tag, against the version just read; False if this memory could not take it
    (a concurrent edit, its 64-tag limit, no write role): the others still change."""
    try:
        memory = ui.rt.memories.get(ui.caller, memory_id, cube_id)
        tags = list(memory["tags"])
        if add == (tag in tags):
            return True
        patch = MemoryPatch(tags=[*tags, tag] if add else [t for t in tags if t != tag], version=memory["version"])
        await ui.rt.memories.update(ui.caller, memory_id, MemoryChanges(tags=tuple(patch.tags or ()),
                                                                        version=patch.version), memory["cube"])
    except (MemosError, ValidationError):
        return False
    return True
