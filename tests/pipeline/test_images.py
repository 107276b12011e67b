"""The pure image pieces: sniffing, bounds, EXIF and GPS, thumbnails, OCR, and the parse stage's use of them."""

from __future__ import annotations

import io

import orjson
import pytest
from PIL import ExifTags, Image

from pipeline.errors import ImageTooLarge, ImageUnreadable, NotAnImage
from pipeline.images import ImageLimits, prepare_image, sha256_of
from pipeline.ocr import read_text
from pipeline.parse import content_hash, parse_batch
from tests.builders import draft, intake_batch
from tests.image_builders import bomb_png, gps_jpeg, truncated, words_png

LIMITS = ImageLimits(max_bytes=2_500_000, max_pixels=89_478_485, thumbnail_px=128)


def _gps(data: bytes) -> dict:
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo))


def test_a_jpeg_is_sniffed_measured_and_loses_only_its_gps_tags():
    jpeg = gps_jpeg()
    out = prepare_image(jpeg, LIMITS)
    assert (out.mime, out.width, out.height, out.gps_removed, out.gps_kept) == ("image/jpeg", 320, 200, True, False)
    assert out.exif == {"Make": "TestCam", "Model": "Model 7", "Orientation": 1}
    assert _gps(out.data) == {} and out.sha256 == sha256_of(out.data) != sha256_of(jpeg)
    assert out.data[out.data.index(b"\xff\xda"):] == jpeg[jpeg.index(b"\xff\xda"):]  # pixels untouched
    again = prepare_image(out.data, LIMITS)
    assert (again.data, again.gps_removed) == (out.data, False)  # stripping is stable: the same bytes, stored once


def test_gps_is_kept_only_when_asked_and_then_shown_in_the_facts():
    jpeg = gps_jpeg()
    out = prepare_image(jpeg, LIMITS, keep_gps=True)
    assert out.data == jpeg and (out.gps_removed, out.gps_kept) == (False, True)
    assert out.exif["GPS"] == {"GPSLatitudeRef": "N", "GPSLatitude": [48.0, 51.0, 30.24], "GPSLongitudeRef": "E",
                               "GPSLongitude": [2.0, 17.0, 40.2]}
    assert orjson.loads(orjson.dumps(out.facts()))["exif"] == out.exif  # the facts are plain JSON


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_gps_leaves_other_formats_too(fmt):
    source = Image.open(io.BytesIO(gps_jpeg()))
    buffer = io.BytesIO()
    source.save(buffer, format=fmt, exif=source.getexif().tobytes())
    out = prepare_image(buffer.getvalue(), LIMITS)
    assert out.gps_removed and _gps(out.data) == {} and out.mime == f"image/{fmt.lower()}"
    assert Image.open(io.BytesIO(out.data)).getexif()[ExifTags.Base.Make] == "TestCam"


def test_the_thumbnail_fits_the_limit_and_keeps_transparency_as_png():
    out = prepare_image(words_png("THUMB"), LIMITS)
    thumb = Image.open(io.BytesIO(out.thumbnail))
    assert (out.thumbnail_mime, thumb.format, thumb.size) == ("image/jpeg", "JPEG", (128, 25))
    clear = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(clear, format="PNG")
    out = prepare_image(clear.getvalue(), LIMITS)
    assert out.thumbnail_mime == "image/png" and Image.open(io.BytesIO(out.thumbnail)).mode == "RGBA"


@pytest.mark.parametrize(("data", "error"), [
    (b"", NotAnImage),
    (b"just some text, no image here", NotAnImage),
    (b"%PDF-1.7\n", NotAnImage),
    (truncated(words_png("HALF")), ImageUnreadable),
    (truncated(gps_jpeg()), ImageUnreadable),
    (bomb_png(), ImageTooLarge),  # past twice Pillow's MAX_IMAGE_PIXELS: Pillow's own check refuses to open it
    (bomb_png(10_000, 10_000), ImageTooLarge),  # past the setting, refused before decoding
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_500_001, ImageTooLarge),
], ids=["empty", "text", "pdf", "truncated png", "truncated jpeg", "bomb", "over max pixels", "over max bytes"])
def test_bad_images_are_refused_with_their_own_error(data, error):
    with pytest.raises(error):
        prepare_image(data, LIMITS)


def test_the_pixel_limit_is_the_setting():
    small = ImageLimits(max_bytes=2_500_000, max_pixels=999, thumbnail_px=64)
    with pytest.raises(ImageTooLarge, match="1000x192"):
        prepare_image(words_png("WIDE"), small)


def test_ocr_reads_words_drawn_with_pillows_own_font():
    assert read_text(words_png("PELICAN ZEPHYR 4721")) == "PELICAN ZEPHYR 4721"
    assert read_text(b"not an image") == ""


def test_the_parse_stage_indexes_an_images_caption_and_its_text(count_tokens):
    facts = prepare_image(words_png("ANY"), LIMITS).facts()
    seen: list[tuple[str, str]] = []

    def image_text(cube: str, image: dict) -> str:
        seen.append((cube, image["sha256"]))
        return "QUOKKA ISLAND"

    rows = [("add", {**draft("img-1", "a photo", kind="image", metadata={"caption": "a small animal"}),
                     "image": facts}),
            ("add", {**draft("img-2", "a photo", kind="image", metadata={"caption": "a small animal"}),
                     "image": {**facts, "sha256": "0" * 64}}),
            ("add", draft("note-1", "a photo"))]
    img1, img2, note = parse_batch(intake_batch(rows), count_tokens, image_text).to_pylist()
    assert img1["index_text"] == "a photo [image: a small animal] [image text: QUOKKA ISLAND]"
    assert orjson.loads(img1["attrs"])["image"] == {**facts, "ocr_text": "QUOKKA ISLAND"}
    assert seen == [(img1["cube"], facts["sha256"]), (img1["cube"], "0" * 64)]
    # two images with one caption are two memories, not exact duplicates
    assert img1["content_hash"] != img2["content_hash"]
    assert note["attrs"] is None and note["content_hash"] == content_hash("note", "a photo", {})
    # an update carries the text read before: it is not read again
    update = {**draft("img-1", "a photo, renamed", kind="image"), "image": {**facts, "ocr_text": "QUOKKA ISLAND"},
              "base_version": 1, "reembed": True}
    (row,) = parse_batch(intake_batch([("update", update)]), count_tokens, image_text).to_pylist()
    assert row["index_text"].endswith("[image text: QUOKKA ISLAND]") and len(seen) == 2
