"""/v1/memories/{id}/content and /thumbnail: an image memory's bytes and its thumbnail (service/images.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, CUBE_ID_PATTERN, MEMORY_ID_PATTERN, error_responses
from service.images import ImageBytes

router = APIRouter(prefix="/v1/memories", tags=["memories"], route_class=JsonRoute,
                   responses=error_responses(*CALLER_ERRORS, 404))

CubeQuery = Annotated[str | None, Query(pattern=CUBE_ID_PATTERN, description="The cube (default: found among yours).")]
MemoryIdPath = Annotated[str, Path(json_schema_extra={"pattern": MEMORY_ID_PATTERN})]
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def image_response(image: ImageBytes) -> Response:
    # The type is the one sniffed at upload; nosniff and a sandbox keep a browser from reading it as anything else.
    return Response(image.data, media_type=image.mime, headers={
        "ETag": f'"{image.sha256}"', "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
    })


@router.get("/{memory_id}/content", response_class=Response,
            responses={200: {"description": "The image's bytes, GPS removed unless kept.",
                             "content": {t: _BINARY for t in _IMAGE_TYPES}}})
async def image_content(memory_id: MemoryIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> Response:
    """An image memory's bytes, with the type sniffed from them at upload. 404 when it has no image."""
    return image_response(await asyncio.to_thread(rt.images.content, caller, memory_id, cube))


@router.get("/{memory_id}/thumbnail", response_class=Response,
            responses={200: {"description": "A thumbnail (JPEG, or PNG when the image has transparency).",
                             "content": {t: _BINARY for t in ("image/jpeg", "image/png")}}})
async def image_thumbnail(memory_id: MemoryIdPath, rt: RuntimeDep, caller: CallerDep,
                          cube: CubeQuery = None) -> Response:
    """An image memory's thumbnail, at most `image_thumbnail_px` on its longer side."""
    return image_response(await asyncio.to_thread(rt.images.thumbnail, caller, memory_id, cube))
