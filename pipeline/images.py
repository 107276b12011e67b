"""An uploaded image made ready to store: type sniffed from its bytes, bounds held, EXIF read, GPS
removed unless asked to keep it, a thumbnail made. Pure: bytes in, a `PreparedImage` out.

The client's Content-Type is never trusted: Pillow names the format from the bytes, and only the
formats in `MIME_TYPES` are taken (no SVG, nothing a browser would run). Every image is decoded
whole before it is accepted, so a truncated file is refused at the door, not found broken later.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass, field
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from pipeline.errors import ImageTooLarge, ImageUnreadable, NotAnImage

# The formats taken, by Pillow's name, and the type their bytes are served with.
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_GPS_IFD = ExifTags.IFD.GPSInfo
_EXIF_IFD = ExifTags.IFD.Exif
_EXIF_KEPT = 64  # EXIF entries kept in the facts; enough for camera, time, orientation, lens
_EXIF_TEXT = 200  # characters kept of one EXIF text value


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    thumbnail_px: int


@dataclass(frozen=True)
class PreparedImage:
    """What is stored of an upload: its bytes (GPS removed unless kept), facts and thumbnail."""

    data: bytes
    sha256: str
    mime: str
    width: int
    height: int
    exif: dict[str, Any] = field(default_factory=dict)
    gps_removed: bool = False
    gps_kept: bool = False
    thumbnail: bytes = b""
    thumbnail_mime: str = "image/jpeg"

    def facts(self) -> dict[str, Any]:
        """The image's facts as the draft carries them to the cube file (no bytes)."""
        return {
            "sha256": self.sha256, "mime": self.mime, "width": self.width, "height": self.height,
            "bytes": len(self.data), "exif": self.exif, "gps_removed": self.gps_removed,
            "gps_kept": self.gps_kept, "thumbnail_mime": self.thumbnail_mime,
        }


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prepare_image(raw: bytes, limits: ImageLimits, keep_gps: bool = False) -> PreparedImage:
    """Check, sniff and decode `raw`; the stored bytes lose their GPS tags unless `keep_gps`."""
    if len(raw) > limits.max_bytes:
        raise ImageTooLarge(f"the image has {len(raw)} bytes; the limit is {limits.max_bytes}")
    if not raw:
        raise NotAnImage("the image is empty")
    image = _open(raw, limits)
    fmt = image.format or ""
    exif = image.getexif()
    has_gps = bool(exif.get_ifd(_GPS_IFD)) or _GPS_IFD in exif
    data = raw
    if has_gps and not keep_gps:
        data = _without_gps(raw, fmt, image)
    thumb, thumb_mime = _thumbnail(image, limits.thumbnail_px)
    return PreparedImage(
        data=data, sha256=sha256_of(data), mime=MIME_TYPES[fmt], width=image.width, height=image.height,
        exif=_exif_facts(exif, keep_gps), gps_removed=has_gps and not keep_gps, gps_kept=has_gps and keep_gps,
        thumbnail=thumb, thumbnail_mime=thumb_mime,
    )


def _open(raw: bytes, limits: ImageLimits) -> Image.Image:
    """The decoded image; every way it can be bad is a 4xx with its own code."""
    try:
        image = Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError as exc:  # Pillow's own MAX_IMAGE_PIXELS check, at twice its limit
        raise ImageTooLarge(f"the image's dimensions are too large to decode ({exc})") from None
    except UnidentifiedImageError:
        raise NotAnImage("the bytes are not an image of a supported type (JPEG, PNG, GIF, WebP)") from None
    except (OSError, ValueError, SyntaxError, struct.error) as exc:
        raise ImageUnreadable(f"the image cannot be read: {exc}") from None
    if image.format not in MIME_TYPES:
        raise NotAnImage(f"images of type {image.format} are not taken; send JPEG, PNG, GIF or WebP")
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageUnreadable("the image has no pixels")
    if width * height > limits.max_pixels:  # checked before decoding: a bomb is never expanded
        raise ImageTooLarge(f"the image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels")
    try:
        image.load()  # a truncated or corrupt file fails here, not when someone asks for it later
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the image's dimensions are too large to decode ({exc})") from None
    except (OSError, ValueError, SyntaxError, struct.error, EOFError) as exc:
        raise ImageUnreadable(f"the image is truncated or corrupt: {exc}") from None
    return image


def _exif_facts(exif: Image.Exif, keep_gps: bool) -> dict[str, Any]:
    """Readable EXIF tags by name (base and Exif IFDs; GPS only when kept), JSON-safe and bounded."""
    out: dict[str, Any] = {}
    tags = [*exif.items(), *exif.get_ifd(_EXIF_IFD).items()]
    for tag, value in tags:
        if tag in (_GPS_IFD, _EXIF_IFD, ExifTags.IFD.Interop) or len(out) >= _EXIF_KEPT:
            continue
        plain = _plain(value)
        if plain is not None:
            out[ExifTags.TAGS.get(tag, f"tag_{tag}")] = plain
    if keep_gps:
        gps = {ExifTags.GPSTAGS.get(t, f"tag_{t}"): _plain(v) for t, v in exif.get_ifd(_GPS_IFD).items()}
        out["GPS"] = {k: v for k, v in gps.items() if v is not None}
    return out


def _plain(value: Any) -> Any:
    """An EXIF value as JSON: text, numbers and short tuples of them; bytes and oddities are dropped."""
    if isinstance(value, str):
        text = value.replace("\x00", "").strip()
        return text[:_EXIF_TEXT] if text else None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else None
    if isinstance(value, float) or hasattr(value, "numerator"):
        try:
            number = float(value)
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        return round(number, 6) if number == number and abs(number) < 1e15 else None
    if isinstance(value, tuple) and 0 < len(value) <= 8:
        items = [_plain(v) for v in value]
        return items if all(i is not None and not isinstance(i, list) for i in items) else None
    return None


def _without_gps(raw: bytes, fmt: str, image: Image.Image) -> bytes:
    """The same image without its GPS tags. A JPEG is edited in place (its pixels are not re-encoded);
    other formats are written again by Pillow (lossless for PNG and GIF)."""
    exif = image.getexif()
    exif.pop(_GPS_IFD, None)
    if fmt == "JPEG":
        return _jpeg_with_exif(raw, exif.tobytes())
    out = io.BytesIO()
    params: dict[str, Any] = {"format": fmt, "exif": exif.tobytes()}
    if fmt == "WEBP":
        params.update(lossless=True)
    if fmt == "PNG":
        params.update(pnginfo=None)
    image.save(out, **params)
    return out.getvalue()


def _jpeg_with_exif(raw: bytes, exif: bytes) -> bytes:
    """The JPEG's segments with its EXIF (APP1) replaced, and XMP (APP1 too) that names GPS dropped."""
    if raw[:2] != b"\xff\xd8":
        raise ImageUnreadable("the JPEG does not start with a start-of-image marker")
    out = [raw[:2]]
    pos, placed = 2, False
    while pos + 4 <= len(raw) and raw[pos] == 0xFF:
        marker = raw[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is image data, kept as it is
            break
        length = struct.unpack(">H", raw[pos + 2:pos + 4])[0]
        segment = raw[pos:pos + 2 + length]
        body = segment[4:]
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
            if not placed:
                out.append(_app1(b"Exif\x00\x00" + exif.removeprefix(b"Exif\x00\x00")))
                placed = True
        elif marker == 0xE1 and b"GPS" in body:
            pass  # an XMP packet carrying GPS tags
        else:
            out.append(segment)
        pos += 2 + length
    out.append(raw[pos:])
    return b"".join(out)


def _app1(body: bytes) -> bytes:
    if len(body) + 2 > 0xFFFF:
        raise ImageUnreadable("the image's EXIF block is too large")
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _thumbnail(image: Image.Image, size: int) -> tuple[bytes, str]:
    """A thumbnail at most `size` pixels on its longer side, turned as its EXIF orientation says;
    PNG when the image has transparency, else JPEG."""
    frame = ImageOps.exif_transpose(image.copy())
    frame.thumbnail((size, size))
    alpha = frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info)
    out = io.BytesIO()
    if alpha:
        frame.convert("RGBA").save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    frame.convert("RGB").save(out, format="JPEG", quality=80)
    return out.getvalue(), "image/jpeg"
