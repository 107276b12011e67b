"""An image memory's thumbnail and bytes for the UI's pages (`<img>` cannot send the API's headers),
served to the signed-in caller through the same service call, and access check, as /v1."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.routers.images import image_response
from api.web.page import PageRoute, UiDep
from pipeline.ids import MEMORY_ID

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MemoryIdPath = Annotated[str, Path(pattern=f"^{MEMORY_ID.pattern}$")]
CubeQuery = Annotated[str | None, Query(max_length=200)]


@router.get("/ui/memories/{memory_id}/thumbnail")
async def thumbnail(ui: UiDep, memory_id: MemoryIdPath, cube: CubeQuery = None) -> Response:
    return image_response(await asyncio.to_thread(ui.rt.images.thumbnail, ui.caller, memory_id, cube or None))


@router.get("/ui/memories/{memory_id}/image")
async def image(ui: UiDep, memory_id: MemoryIdPath, cube: CubeQuery = None) -> Response:
    return image_response(await asyncio.to_thread(ui.rt.images.content, ui.caller, memory_id, cube or None))
