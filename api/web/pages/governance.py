"""The cube page's governance section: its report, and its retention rules (set, remove), through the
same services as GET /v1/cubes/{id}/report and /v1/cubes/{id}/retention."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response

from api.web.page import PageRoute, Ui, UiDep, see_other
from pipeline.access import Caller
from pipeline.errors import Forbidden, Invalid, NotFound
from service.retention import rule_from

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CubePath = Annotated[str, Path(max_length=200)]
OptionalInt = Annotated[str, Form(max_length=20)]


def governance_context(ui: Ui, caller: Caller, cube_id: str) -> dict[str, Any]:
    """What the cube page shows of the cube's lifecycle: the report and the rules (None if not readable)."""
    try:
        return {"report": ui.rt.governance.report(caller, cube_id),
                "rules": ui.rt.retention.list(caller, cube_id)["rules"]}
    except (Forbidden, NotFound):
        return {"report": None, "rules": []}


def _number(name: str, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise Invalid(f"{name} must be a whole number, got {text[:40]!r}")
    return int(text)


@router.post("/ui/cubes/{cube_id}/retention")
def set_rule(
    ui: UiDep, cube_id: CubePath,
    rule_id: Annotated[str, Form(min_length=1, max_length=64)],
    action: Annotated[Literal["delete", "archive"], Form()] = "delete",
    kind: Annotated[str, Form(max_length=32)] = "",
    tag: Annotated[str, Form(max_length=128)] = "",
    max_age_days: OptionalInt = "",
    max_count: OptionalInt = "",
) -> Response:
    days = _number("max age (days)", max_age_days)
    values = {"kind": kind.strip() or None, "tag": tag.strip() or None, "action": action,
              "max_age_s": days * 86_400 if days is not None else None, "max_count": _number("max count", max_count)}
    rule = ui.rt.retention.put(ui.caller, cube_id, rule_from(rule_id.strip(), values))
    ui.flash(f"Retention rule {rule['id']} saved; the sweeper applies it.")
    return see_other(f"/ui/cubes/{cube_id}")


@router.post("/ui/cubes/{cube_id}/retention/{rule_id}/remove")
def remove_rule(ui: UiDep, cube_id: CubePath, rule_id: Annotated[str, Path(max_length=64)]) -> Response:
    ui.rt.retention.delete(ui.caller, cube_id, rule_id)
    ui.flash(f"Removed retention rule {rule_id}.")
    return see_other(f"/ui/cubes/{cube_id}")
