"""World: a cube's facts grouped by subject, with confidence, validity and supersession; mark one wrong
(with a correction) or outdated through the feedback service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from api.web.page import PageRoute, UiDep, see_other
from pipeline.errors import Invalid
from pipeline.ids import MEMORY_ID

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 100
CubeQuery = Annotated[str | None, Query(max_length=200)]


@router.get("/ui/world")
def world_page(
    ui: UiDep, cube: CubeQuery = None, status: Literal["all", "active", "superseded"] = "all",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    page = ui.rt.world.page(ui.caller, cube or None, PAGE_SIZE, cursor, None if status == "all" else status)
    cubes = [c for c in ui.rt.cubes.list(ui.caller) if c["role"] is not None]
    role = next((c["role"] for c in cubes if c["id"] == page["cube"]), None)
    personas = ui.rt.personas.list(ui.caller, page["cube"])["personas"] if cursor is None else []
    return ui.page("world.html", "World", title="World", page=page, cubes=cubes, status=status,
                   first=cursor is None, can_write=role in ("write", "admin"), personas=personas)


@router.post("/ui/world/{memory_id}/feedback")
async def correct_fact(
    ui: UiDep, memory_id: Annotated[str, Path(pattern=f"^{MEMORY_ID.pattern}$")],
    signal: Annotated[Literal["wrong", "outdated"], Form()],
    correction: Annotated[str, Form(max_length=4000)] = "", cube: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    text = correction.strip() or None
    if text is not None and signal != "wrong":
        raise Invalid("a correction goes with marking a fact wrong")
    out = await ui.rt.feedback.feedback(ui.caller, memory_id, signal, text, None, cube or None)
    what = "outdated" if signal == "outdated" else ("wrong, corrected" if text else "wrong")
    ui.flash(f"Marked the fact {what}." + (" The change is still being applied." if out["status"] != "done" else ""))
    return see_other(f"/ui/world?cube={out['cube']}")
