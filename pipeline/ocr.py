"""Text read from an image by OCR (Tesseract through pytesseract), for the index text of an image memory.

Runs in the parse stage's actor (actors/parse_actor.py), never on a request thread: one image
takes Tesseract a few hundred milliseconds. A failure to read is not a failure to store: the image
is kept and indexed by its caption alone, and the reason is logged.
"""

from __future__ import annotations

import io
import logging
import re

import pytesseract
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w", re.UNICODE)
OCR_MAX_CHARS = 4_000  # kept of an image's text; a page of print is about this long
_OCR_SIDE = 2_000  # larger images are scaled down first: Tesseract's time grows with the pixels


def read_text(data: bytes, lang: str = "eng", timeout_s: float = 20.0) -> str:
    """The words Tesseract finds in the image, on one line; "" when it finds none or cannot run."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            frame = ImageOps.exif_transpose(image).convert("L")
            frame.thumbnail((_OCR_SIDE, _OCR_SIDE))
            text = pytesseract.image_to_string(frame, lang=lang, timeout=timeout_s)
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, RuntimeError, OSError) as exc:
        log.warning("OCR failed, the image is indexed without its text: %s", exc)
        return ""
    words = [w for w in _SPACE.split(text) if _WORD.search(w)]  # drop lone punctuation Tesseract sees in noise
    return " ".join(words)[:OCR_MAX_CHARS]
