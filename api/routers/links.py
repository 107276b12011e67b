"""/v1/links: typed links between memories (or a memory and an episode) of one cube."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, RuntimeDep
from api.schemas import ErrorOut, LinkIn

router = APIRouter(
    prefix="/v1", tags=["links"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("/links", status_code=201)
async def link(body: LinkIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    """A typed link between two memories (or a memory and an episode) of one cube."""
    return await rt.links.link(caller, body.src, body.dst, body.type, body.metadata, body.cube)
