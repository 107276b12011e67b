"""The `.memos.zip` container: the bundle as files, for people and for tools that read Parquet.

    manifest.json        format, version, producer, cubes, counts, and per part its sha256
    objects.jsonl        every object but the vectors, one per line, in bundle order (what import reads)
    vectors.parquet      memory_id | episode_id, model, dimensions, vector (float32), in bundle order
    records.parquet      the memories, flat (JSON columns as text), for analysis
    links.parquet        the links, flat
    vault/...            the Markdown vault (pipeline/interchange/vault.py)
    images/<sha256>      each image memory's bytes, once per distinct image (its `image.sha256`)

The writer streams the objects once into temporary part files and then assembles the ZIP, with
the manifest written last; the reader verifies the parts it reads (objects.jsonl, vectors.parquet)
against the manifest while it reads them, and merges each vector back right after its memory.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.interchange.bundle import checked
from pipeline.interchange.jsonl import dumps
from pipeline.interchange.model import FORMAT, LineError, check_version, validate_line
from pipeline.interchange.tables import (
    LINK_SCHEMA, RECORD_SCHEMA, VECTOR_SCHEMA, link_row, record_row, vector_object_of, vector_row,
)
from pipeline.interchange.vault import vault_files

MANIFEST = "manifest.json"
OBJECTS = "objects.jsonl"
VECTORS = "vectors.parquet"
IMAGES = "images/"
ROW_GROUP = 10_000


class _TableSink:
    """Rows appended in batches to one Parquet file of a fixed schema."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self._schema = path, schema
        self._writer = pq.ParquetWriter(path, schema)
        self._rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        self.count += 1
        if len(self._rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def write_zip(header: dict[str, Any], objects: Iterable[dict[str, Any]], out: IO[bytes],
              manifest_extra: Callable[[], dict[str, Any]] = dict,
              blobs: Callable[[str], bytes | None] = lambda sha: None) -> dict[str, int]:
    """Write the bundle as a ZIP to `out` (a seekable binary file); the counts per object type.
    `blobs` gives an image's bytes by SHA-256, for the `images/` part."""
    counts: dict[str, int] = {}
    images: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="memos-zip-") as tmp:
        root = Path(tmp)
        sinks = {"vector": _TableSink(root / VECTORS, VECTOR_SCHEMA),
                 "memory": _TableSink(root / "records.parquet", RECORD_SCHEMA),
                 "link": _TableSink(root / "links.parquet", LINK_SCHEMA)}
        rows = {"vector": vector_row, "memory": record_row, "link": link_row}
        objects_path = root / OBJECTS
        with objects_path.open("wb") as lines:
            for obj in objects:
                kind = obj["object"]
                counts[kind] = counts.get(kind, 0) + 1
                if kind in sinks:
                    sinks[kind].add(rows[kind](obj))
                if kind != "vector":
                    lines.write(dumps(obj))
                if kind == "memory" and isinstance(obj.get("image"), dict):
                    images.add(obj["image"]["sha256"])
        for sink in sinks.values():
            sink.close()
        parts: dict[str, dict[str, Any]] = {
            OBJECTS: {"sha256": _file_digest(objects_path), "count": sum(n for k, n in counts.items() if k != "vector"),
                      "path": OBJECTS},
        }
        for sink in sinks.values():
            parts[sink.path.name] = {"sha256": _file_digest(sink.path), "count": sink.count, "path": sink.path.name}
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.write(objects_path, OBJECTS)
            for sink in sinks.values():
                zf.write(sink.path, sink.path.name, compress_type=zipfile.ZIP_STORED)
            vault = hashlib.sha256()
            n_files = 0
            with objects_path.open("rb") as lines:
                for name, data in vault_files(orjson.loads(line) for line in lines):
                    zf.writestr(f"vault/{name}", data)
                    vault.update(name.encode() + b"\n" + data)
                    n_files += 1
            parts["vault"] = {"sha256": "sha256:" + vault.hexdigest(), "count": n_files, "path": "vault/"}
            stored = 0
            for sha in sorted(images):
                data = blobs(sha)
                if data is not None:  # a blob gone missing from the cube: the memory travels without it
                    zf.writestr(f"{IMAGES}{sha}", data, compress_type=zipfile.ZIP_STORED)
                    stored += 1
            if stored:
                parts["images"] = {"sha256": "sha256:" + hashlib.sha256("\n".join(sorted(images)).encode()).hexdigest(),
                                   "count": stored, "path": IMAGES}
            manifest = {"object": "manifest", **{k: v for k, v in header.items() if k != "object"},
                        "container": "zip", "counts": counts, "parts": parts, **manifest_extra()}
            zf.writestr(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return counts


# --- reading -------------------------------------------------------------------------------------


class ZipBundle:
    """Reads a `.memos.zip`; iterate for the checked objects (vectors merged after their memories)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise LineError(path.name, "", f"not a readable ZIP ({exc}): the file was cut short or damaged") from None
        names = set(self._zip.namelist())
        if MANIFEST not in names:
            raise LineError(path.name, MANIFEST, "missing: not a .memos.zip")
        try:
            raw = orjson.loads(self._zip.read(MANIFEST))
        except orjson.JSONDecodeError as exc:
            raise LineError(MANIFEST, "", f"not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise LineError(MANIFEST, "format", f"is not {FORMAT}")
        self.lenient = check_version(str(raw.get("version")))
        self.manifest = validate_line(raw, MANIFEST, lenient=self.lenient).model_dump(by_alias=True)
        self.header = {k: v for k, v in self.manifest.items() if k in ("format", "version", "created_at", "producer",
                                                                       "cubes")}
        if OBJECTS not in names:
            raise LineError(path.name, OBJECTS, "missing from the ZIP")
        self._has_vectors = VECTORS in names

    def close(self) -> None:
        self._zip.close()

    def image(self, sha256: str) -> bytes | None:
        """An image's bytes, when the bundle holds them and they are what their name says."""
        return zip_image(self._zip, sha256)

    def _verified_lines(self) -> Iterator[tuple[str, bytes]]:
        part = self.manifest["parts"].get(OBJECTS)
        h = hashlib.sha256()
        n = 0
        with self._zip.open(OBJECTS) as f:
            for raw in f:
                h.update(raw)
                n += 1
                if raw.strip():
                    yield f"{OBJECTS} line {n}", raw
        if part is not None and "sha256:" + h.hexdigest() != part["sha256"]:
            raise LineError(OBJECTS, "sha256", "does not match the manifest: the file was changed or damaged")

    def _vectors(self) -> Iterator[dict[str, Any]]:
        if not self._has_vectors:
            return
        part = self.manifest["parts"].get(VECTORS)
        if part is not None:
            with self._zip.open(VECTORS) as f:
                h = hashlib.sha256()
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if "sha256:" + h.hexdigest() != part["sha256"]:
                raise LineError(VECTORS, "sha256", "does not match the manifest: the file was changed or damaged")
        with self._zip.open(VECTORS) as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=2_000):
                for row in batch.to_pylist():
                    yield vector_object_of(row)

    def _objects(self) -> Iterator[tuple[str, Any]]:
        vectors = self._vectors()
        pending = next(vectors, None)
        for where, raw in self._verified_lines():
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise LineError(where, "", f"not valid JSON ({exc})") from None
            yield where, obj
            if not isinstance(obj, dict):
                continue
            key = ("memory_id" if obj.get("object") == "memory" else "episode_id" if obj.get("object") == "episode"
                   else None)
            while key is not None and pending is not None and pending.get(key) == obj.get("id"):
                yield f"{VECTORS} of {obj.get('id')}", pending
                pending = next(vectors, None)
        if pending is not None:
            raise LineError(VECTORS, "memory_id", f"vector of {pending.get('memory_id') or pending.get('episode_id')} "
                            "does not follow any object of objects.jsonl in order")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return checked(self._objects(), lenient=self.lenient)


def zip_image(zf: zipfile.ZipFile, sha256: str) -> bytes | None:
    """`images/<sha256>` of a bundle, verified against its name; None when absent or changed."""
    name = f"{IMAGES}{sha256}"
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_IMAGE_ENTRY:
        return None
    data = zf.read(info)
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


MAX_IMAGE_ENTRY = 64 * 1024 * 1024  # far over any image the server takes: a ZIP entry is never read unbounded


class ZipImages:
    """A bundle's images by SHA-256, the ZIP opened once, on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None

    def __call__(self, sha256: str) -> bytes | None:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.path)
        return zip_image(self._zip, sha256)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
