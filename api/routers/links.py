"""/v1/links: typed links between memories (or a memory and an episode) of one cube."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, LinkIn, error_responses

router = APIRouter(
    prefix="/v1", tags=["links"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 403, 404, 413),
)


@router.post("/links", status_code=201)
async def link(body: LinkIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """A typed link between two memories (or a memory and an episode) of one cube."""
    return await rt.links.link(caller, body.src, body.dst, body.type, body.metadata, body.cube)
