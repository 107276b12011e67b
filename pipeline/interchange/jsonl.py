"""The `.memos.jsonl` container: a header line, one object per line, a manifest line last.

Streamable both ways in constant memory. The manifest carries, per part (the lines of one object
type), the count and the sha256 of the exact bytes written, so a reader can tell a complete
bundle from one cut short or altered: a stream that stops early has no manifest, and a changed
line changes its part's digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from pipeline.interchange.bundle import checked
from pipeline.interchange.model import DATA_TYPES, FORMAT, LineError, check_version, validate_line

CHUNK_BYTES = 64 * 1024


def dumps(obj: dict[str, Any]) -> bytes:
    """One line: compact JSON, non-ASCII kept as UTF-8, keys in the order the exporter built them."""
    return orjson.dumps(obj) + b"\n"


class PartDigests:
    """Counts and running sha256 of each object type's lines."""

    def __init__(self) -> None:
        self._hashes: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def add(self, object_type: str, line: bytes) -> None:
        h = self._hashes.get(object_type)
        if h is None:
            h = self._hashes[object_type] = hashlib.sha256()
            self.counts[object_type] = 0
        h.update(line)
        self.counts[object_type] += 1

    def parts(self) -> dict[str, dict[str, Any]]:
        return {t: {"sha256": "sha256:" + self._hashes[t].hexdigest(), "count": self.counts[t]}
                for t in DATA_TYPES if t in self._hashes}


def write_jsonl(header: dict[str, Any], objects: Iterable[dict[str, Any]],
                manifest_extra: Callable[[], dict[str, Any]] = dict) -> Iterator[bytes]:
    """The bundle as byte chunks of about CHUNK_BYTES: header, objects, then the manifest built
    from what was written (`manifest_extra()`, e.g. the embedding model, is asked at the end)."""
    digests = PartDigests()
    buf = bytearray(dumps(header))
    for obj in objects:
        line = dumps(obj)
        digests.add(obj["object"], line)
        buf += line
        if len(buf) >= CHUNK_BYTES:
            yield bytes(buf)
            buf.clear()
    manifest = {"object": "manifest", **{k: v for k, v in header.items() if k != "object"},
                "counts": dict(digests.counts), "parts": digests.parts(), **manifest_extra()}
    buf += dumps(manifest)
    yield bytes(buf)


def _lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for n, raw in enumerate(stream, 1):
        if raw.strip():
            yield n, raw if raw.endswith(b"\n") else raw + b"\n"


def _load(n: int, raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise LineError(n, "", f"not valid JSON ({exc})") from None


def bare_objects(stream: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Checked objects of JSON lines without header or manifest (written by hand, or the array a
    client posts as the body of POST /v1/import): read as this version's, with no digests to check."""
    return checked((n, _load(n, raw)) for n, raw in _lines(stream))


class JsonlBundle:
    """Reads a `.memos.jsonl` from a stream of lines; iterate for the checked objects.

    The header is checked first (format, and a newer major version is refused); the manifest
    must be the last line and agree with what was read, count and digest per part.
    """

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._lines = _lines(stream)
        first = next(self._lines, None)
        if first is None:
            raise LineError(1, "", "the file is empty")
        n, raw = first
        head = _load(n, raw)
        if not isinstance(head, dict) or head.get("object") != "header":
            raise LineError(n, "object", f"a {FORMAT} bundle starts with a header object")
        if head.get("format") != FORMAT:
            raise LineError(n, "format", f"{str(head.get('format'))[:40]!r} is not {FORMAT}")
        self.lenient = check_version(str(head.get("version")))
        self.header = validate_line(head, n, lenient=self.lenient).model_dump(by_alias=True)
        self.manifest: dict[str, Any] | None = None

    def _objects(self) -> Iterator[tuple[int, Any]]:
        digests = PartDigests()
        for n, raw in self._lines:
            if self.manifest is not None:
                raise LineError(n, "", "nothing may follow the manifest")
            data = _load(n, raw)
            if isinstance(data, dict) and data.get("object") == "manifest":
                self.manifest = validate_line(data, n, lenient=self.lenient).model_dump(by_alias=True)
                self._verify(digests, n)
                continue
            if isinstance(data, dict) and isinstance(data.get("object"), str):
                digests.add(data["object"], raw)
            yield n, data
        if self.manifest is None:
            raise LineError("end of file", "manifest", "missing: the bundle was cut short (or is not a whole export)")

    def _verify(self, digests: PartDigests, n: int) -> None:
        assert self.manifest is not None
        got = digests.parts()
        for name, part in self.manifest["parts"].items():
            seen = got.get(name)
            if seen is None or seen["count"] != part["count"]:
                raise LineError(n, f"parts.{name}.count", f"the manifest counts {part['count']}, the file holds "
                                f"{0 if seen is None else seen['count']}")
            if seen["sha256"] != part["sha256"]:
                raise LineError(n, f"parts.{name}.sha256", "does not match the lines read: the file was changed "
                                "or damaged")
        extra = sorted(set(got) - set(self.manifest["parts"]))
        if extra:
            raise LineError(n, "parts", f"the manifest does not list {', '.join(extra)}")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return checked(self._objects(), lenient=self.lenient)
