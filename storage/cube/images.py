"""The cube file's `images` table: one row of facts per image memory (its bytes are blobs,
storage/blob_store.py). Mixed into the cube reader and writer, as restore.py is into the writer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apsw
import orjson

from storage.cube.schema import chunks

_COLUMNS = ("memory_id", "sha256", "mime", "width", "height", "bytes", "exif", "gps_removed", "gps_kept",
            "thumbnail_mime", "ocr_text")
_SELECT = ", ".join(_COLUMNS)
_UPSERT = (f"INSERT OR REPLACE INTO images({_SELECT}) VALUES ({', '.join('?' * len(_COLUMNS))})")


def _facts(row: Sequence[Any]) -> dict[str, Any]:
    values = dict(zip(_COLUMNS, row))
    values["exif"] = orjson.loads(values["exif"] or "{}")
    values["gps_removed"], values["gps_kept"] = bool(values["gps_removed"]), bool(values["gps_kept"])
    values.pop("memory_id")
    return values


def image_of_row(row: dict[str, Any]) -> dict[str, Any] | None:
    """The image facts a pipeline row carries in its `attrs` (set by the parse stage), if any."""
    attrs = row.get("attrs")
    if not attrs:
        return None
    value = orjson.loads(attrs) if isinstance(attrs, (str, bytes)) else attrs
    image = value.get("image") if isinstance(value, dict) else None
    return image if isinstance(image, dict) and isinstance(image.get("sha256"), str) else None


class ImageReads:
    _conn: apsw.Connection

    def image(self, memory_id: str) -> dict[str, Any] | None:
        """The memory's image facts, or None when it has no image."""
        try:
            row = self._conn.execute(f"SELECT {_SELECT} FROM images WHERE memory_id = ?", (memory_id,)).fetchone()
        except apsw.SQLError:  # a file a reader opened before the writer migrated it
            return None
        return _facts(row) if row is not None else None

    def images_of(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        try:
            for chunk in chunks(list(ids), 500):
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(f"SELECT {_SELECT} FROM images WHERE memory_id IN ({marks})", chunk):
                    out[row[0]] = _facts(row)
        except apsw.SQLError:
            return {}
        return out

    def image_hashes(self) -> set[str]:
        """The blobs the cube's stored memories still name."""
        try:
            return {r[0] for r in self._conn.execute(
                "SELECT DISTINCT i.sha256 FROM images i JOIN memories m ON m.id = i.memory_id")}
        except apsw.SQLError:
            return set()


class ImageWrites:
    _conn: apsw.Connection

    def _store_image(self, memory_id: str, image: dict[str, Any]) -> None:
        """The image row of a memory being written, in the caller's transaction; a replay rewrites it."""
        self._conn.execute(_UPSERT, (
            memory_id, image["sha256"], str(image.get("mime") or "application/octet-stream"),
            int(image.get("width") or 0), int(image.get("height") or 0), int(image.get("bytes") or 0),
            orjson.dumps(image.get("exif") or {}).decode(), int(bool(image.get("gps_removed"))),
            int(bool(image.get("gps_kept"))), str(image.get("thumbnail_mime") or "image/jpeg"),
            str(image.get("ocr_text") or ""),
        ))
