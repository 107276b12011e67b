"""Cubes: the list, creating a knowledge-base cube, members and roles (grant, revoke), mounts, and the
cube's audit log, all through the cube service and its access checks."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from api.web.page import PageRoute, UiDep, see_other
from api.web.pages.governance import governance_context
from pipeline.access import Role
from pipeline.errors import Forbidden, NotFound

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CubePath = Annotated[str, Path(max_length=200)]
AUDIT_PAGE = 50


@router.get("/ui/cubes")
def cubes_page(ui: UiDep) -> Response:
    cubes = ui.rt.cubes.list(ui.caller)
    return ui.page("cubes.html", "Cubes", title="Cubes", cubes=cubes, mounts=ui.rt.cubes.mounts(ui.caller))


@router.post("/ui/cubes")
def create_cube(ui: UiDep, name: Annotated[str, Form(min_length=1, max_length=128)],
                description: Annotated[str, Form(max_length=2000)] = "") -> Response:
    cube = ui.rt.cubes.create(ui.caller, name.strip() or name, description)
    ui.flash(f"Created cube {cube['name']} ({cube['id']}).")
    return see_other(f"/ui/cubes/{cube['id']}")


@router.get("/ui/cubes/{cube_id}")
def cube_page(ui: UiDep, cube_id: CubePath, before: Annotated[int | None, Query(ge=1)] = None) -> Response:
    rt, caller = ui.rt, ui.caller
    cube = rt.cubes.get(caller, cube_id)
    members = rt.cubes.members(caller, cube_id)
    try:  # the cube's admins (and operators) read its audit log
        audit = rt.cubes.audit(caller, cube_id, before, AUDIT_PAGE)
    except (Forbidden, NotFound):
        audit = None
    manage = cube["role"] == "admin" or caller.admin
    own = cube["id"] == rt.access.own_cube(caller).id
    return ui.page("cube.html", "Cubes", title="Cube", cube=cube, members=members, audit=audit, manage=manage,
                   own=own, roles=[r.label for r in Role], **governance_context(ui, caller, cube["id"]))


@router.post("/ui/cubes/{cube_id}/members")
def grant(ui: UiDep, cube_id: CubePath, agent: Annotated[str, Form(max_length=200)],
          role: Annotated[Literal["read", "write", "admin"], Form()]) -> Response:
    member = ui.rt.cubes.grant(ui.caller, cube_id, agent.strip(), Role.parse(role))
    ui.flash(f"{member['agent']} now has the {member['role']} role.")
    return see_other(f"/ui/cubes/{cube_id}")


@router.post("/ui/cubes/{cube_id}/members/{agent}/revoke")
def revoke(ui: UiDep, cube_id: CubePath, agent: Annotated[str, Path(max_length=200)]) -> Response:
    ui.rt.cubes.revoke(ui.caller, cube_id, agent)
    ui.flash(f"Revoked {agent}'s role.")
    return see_other(f"/ui/cubes/{cube_id}")


@router.post("/ui/cubes/{cube_id}/mount")
def mount(ui: UiDep, cube_id: CubePath) -> Response:
    ui.rt.cubes.mount(ui.caller, cube_id)
    ui.flash(f"Mounted {cube_id}: your searches now include it.")
    return see_other(f"/ui/cubes/{cube_id}")


@router.post("/ui/cubes/{cube_id}/unmount")
def unmount(ui: UiDep, cube_id: CubePath) -> Response:
    ui.rt.cubes.unmount(ui.caller, cube_id)
    ui.flash(f"Unmounted {cube_id}.")
    return see_other(f"/ui/cubes/{cube_id}")
