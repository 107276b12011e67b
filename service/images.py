"""Image memories: accept the bytes (checked, GPS removed unless kept, stored durably before the
write is acknowledged), serve them and their thumbnail to readers of the cube, attach their facts
to memory views, and say which blobs of a cube no memory names any more.

The facts travel in the write's draft (`image`) through the pipeline: the parse stage reads the
image's text by OCR (actors/parse_actor.py) and the cube writer stores the facts in the cube's
`images` table (storage/cube/images.py). The bytes never enter the intake log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from configs import Settings
from pipeline.access import Caller
from pipeline.errors import NotFound
from pipeline.images import ImageLimits, PreparedImage, prepare_image
from pipeline.parse import decode_draft
from service.locate import CubeLocator
from storage.blob_store import BlobStore
from storage.intake_log import IntakeLog
from storage.paths import DataPaths
from storage.read_side import ReadSide

# A blob younger than this is never called unreferenced: its write may be between the blob's fsync
# and the intake commit that names it (or a repeat upload just touched it).
UNREFERENCED_GRACE_S = 30.0
_PENDING_PAGE = 2_000


@dataclass(frozen=True)
class ImageBytes:
    data: bytes
    mime: str
    sha256: str


class ImageService:
    def __init__(self, settings: Settings, paths: DataPaths, locate: CubeLocator, read: ReadSide,
                 intake: IntakeLog) -> None:
        self.limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels, settings.image_thumbnail_px)
        self.blobs = BlobStore(paths)
        self._locate, self._read, self._intake = locate, read, intake

    # --- writes ------------------------------------------------------------------------------

    def accept(self, cube_id: str, raw: bytes, keep_gps: bool) -> dict[str, Any]:
        """Check and store an image for a write to `cube_id`; its facts, for the draft. Blocking (Pillow,
        fsync): call it off the event loop. Nothing is stored when the image is refused."""
        prepared = prepare_image(raw, self.limits, keep_gps)
        self.store(cube_id, prepared)
        return prepared.facts()

    def store(self, cube_id: str, prepared: PreparedImage) -> None:
        self.blobs.put(cube_id, prepared.sha256, prepared.data, prepared.thumbnail)

    # --- reads -------------------------------------------------------------------------------

    def content(self, caller: Caller, memory_id: str, cube_id: str | None) -> ImageBytes:
        """The image's bytes, for a caller who can read the memory's cube."""
        cube, image = self._image(caller, memory_id, cube_id)
        data = self.blobs.read(cube, image["sha256"])
        if data is None:
            raise NotFound(f"the image of memory {memory_id} is missing from its cube")
        return ImageBytes(data, image["mime"], image["sha256"])

    def thumbnail(self, caller: Caller, memory_id: str, cube_id: str | None) -> ImageBytes:
        cube, image = self._image(caller, memory_id, cube_id)
        data = self.blobs.read_thumbnail(cube, image["sha256"])
        if data is None:
            raise NotFound(f"the thumbnail of memory {memory_id} is missing from its cube")
        return ImageBytes(data, image["thumbnail_mime"], image["sha256"])

    def _image(self, caller: Caller, memory_id: str, cube_id: str | None) -> tuple[str, dict[str, Any]]:
        cube = self._locate.holder(caller, memory_id, cube_id)  # the caller's access check, as every read's
        with self._read.cube(cube.id) as store:
            image = store.image(memory_id) if store is not None else None
        if image is None:
            raise NotFound(f"memory {memory_id} has no image (or it is not stored yet)")
        return cube.id, image

    def stored_bytes(self, cube_id: str, memory_id: str) -> bytes | None:
        """An image memory's bytes as its cube holds them (a share copies them); None for any other memory."""
        image = self.facts(cube_id, memory_id)
        return self.blobs.read(cube_id, image["sha256"]) if image is not None else None

    def facts(self, cube_id: str, memory_id: str) -> dict[str, Any] | None:
        with self._read.cube(cube_id) as store:
            return store.image(memory_id) if store is not None else None

    def attach(self, cube_id: str, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The views, each with `image`: an image memory's object (no OCR text: that is in its index text),
        null for the rest, so every answer that shows a memory has the same keys."""
        ids = [v["id"] for v in views if v.get("kind") == "image"]
        found: dict[str, Any] = {}
        if ids:
            with self._read.cube(cube_id) as store:
                found = store.images_of(ids) if store is not None else {}
        for view in views:
            view["image"] = image_view(found[view["id"]]) if view["id"] in found else None
        return views

    # --- blobs no memory names ---------------------------------------------------------------

    def unreferenced_blobs(self, cube_id: str, grace_s: float = UNREFERENCED_GRACE_S) -> list[str]:
        """The SHA-256s of the cube's blobs that no stored memory and no pending write names, older
        than `grace_s`; what a purge may delete (privacy-grade deletion calls this)."""
        held = self.blobs.hashes(cube_id)
        if not held:
            return []
        with self._read.cube(cube_id) as store:
            named = store.image_hashes() if store is not None else set()
        named |= self._pending_hashes(cube_id)
        cutoff = time.time() - grace_s
        return sorted(sha for sha, mtime in held.items() if sha not in named and mtime < cutoff)

    def remove_unreferenced(self, cube_id: str, grace_s: float = UNREFERENCED_GRACE_S) -> int:
        """Delete the blobs `unreferenced_blobs` names (and their thumbnails); how many went."""
        return self.blobs.remove(cube_id, self.unreferenced_blobs(cube_id, grace_s))

    def _pending_hashes(self, cube_id: str) -> set[str]:
        """Blobs named by writes accepted but not yet stored (their rows are not in the cube yet)."""
        out: set[str] = set()
        after = 0
        while True:
            batch = self._intake.pending(after, _PENDING_PAGE)
            if batch.num_rows == 0:
                return out
            for entry in batch.to_pylist():
                after = entry["seq"]
                if entry["cube"] != cube_id or b'"sha256"' not in entry["payload"]:
                    continue
                try:
                    image = decode_draft(entry["payload"]).get("image")
                except ValueError:
                    continue
                if isinstance(image, dict) and isinstance(image.get("sha256"), str):
                    out.add(image["sha256"])


def image_view(facts: dict[str, Any]) -> dict[str, Any]:
    """An image's facts as the API shows them."""
    return {k: facts[k] for k in ("sha256", "mime", "width", "height", "bytes", "exif", "gps_removed", "gps_kept")
            if k in facts}
