"""Test images made with Pillow: known words drawn large (for OCR), EXIF with a GPS IFD, bad files."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw, ImageFont


def words_png(text: str, size: int = 64, width: int = 1000) -> bytes:
    """Black words on white, large enough for Tesseract to read them back exactly."""
    image = Image.new("RGB", (width, size * 3), "white")
    ImageDraw.Draw(image).text((24, size), text, fill="black", font=ImageFont.load_default(size=size))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def gps_jpeg(color: tuple[int, int, int] = (200, 40, 40), lat: float = 48.8584) -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position."""
    image = Image.new("RGB", (320, 200), color)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "Model 7"
    exif[ExifTags.Base.Orientation] = 1
    degrees = int(lat)
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (float(degrees), 51.0, 30.24),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.2),
    }
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG whose header claims huge dimensions over a few bytes of data (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]
