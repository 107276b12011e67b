"""Import and export in the interchange format and the other systems' formats: what each route and command does.

Export reads one snapshot of a cube (storage/cube/bundle_reader.py) into interchange objects
(pipeline/interchange/export_objects.py) and writes them in the asked format: the `.memos.jsonl`
stream as it is read, the ZIP containers and the other formats through a temporary file.

Import reads the file twice: first to check every object (an invalid file is refused whole, before
anything is written), then to plan each batch against what the cube holds
(pipeline/interchange/plan.py) and to write it through the stage chain's IMPORT route, the same
stages a live write takes (actors/stage_chain.py). Online it runs as a job in the server; offline
(`memos import --offline`, service/importer.py) in a local Ray with the same engine.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import ray

from actors.stage_chain import IMPORT, Stage, StageChain
from pipeline.access import Caller, Role
from pipeline.errors import Invalid, InvalidBundle, MemosError, NotFound, UnknownFormat, UnsupportedVersion
from pipeline.images import prepare_image
from pipeline.ids import check_job_id, new_job_id, new_ulid
from pipeline.interchange import export_objects as export
from pipeline.interchange import formats
from pipeline.interchange.import_drafts import PlannedOp
from pipeline.interchange.jsonl import write_jsonl
from pipeline.interchange.model import FORMAT, PRODUCER, VERSION, LineError, VersionRefused, iso, json_schema
from pipeline.interchange.plan import Mode, OnConflict, Planner, Stored, Tally, remap, wanted
from pipeline.interchange.sources import MARKDOWN, MEMOS, Source, open_source
from pipeline.interchange.vault import digest, vault_files, vault_manifest
from pipeline.interchange.zip_bundle import write_zip
from pipeline.parse import encode_draft
from pipeline.records import INTAKE_SCHEMA
from pipeline.timefmt import now_ms, to_iso
from service.access import Access
from service.images import ImageService
from storage.audit_log import AuditLog
from storage.blob_store import BlobStore
from storage.cube.bundle_reader import BundleReader
from storage.intake_log import IntakeLog
from storage.paths import DataPaths
from storage.registry import Cube

log = logging.getLogger(__name__)

BATCH_OBJECTS = 1_000  # objects planned (and one chain batch written) at a time
IN_FLIGHT = 3  # chain batches submitted before waiting for the oldest
EXPORT_FORMATS = ("memos", "markdown", "mem0", "letta", "memos-plugin", "pam")
READ_CHUNK = 256 * 1024
KEPT_REPORTS = 500  # finished imports whose report GET /v1/import/{id} still answers
_HEADS = ("memory", "episode", "link")
UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, pa.ArrowException)  # a batch may end before these (never inside a memory's group)


def producer_version() -> str:
    try:
        return metadata.version("memos-server")
    except metadata.PackageNotFoundError:  # a source checkout run without installing
        return "0"


def bundle_error(exc: LineError | VersionRefused) -> Invalid:
    """The import file's problem as the API error a client sees."""
    if isinstance(exc, VersionRefused):
        return UnsupportedVersion(str(exc))
    return InvalidBundle(f"invalid import file: {exc}", exc.line, exc.field)


# --- export --------------------------------------------------------------------------------------


def cube_info(cube: Cube) -> dict[str, Any]:
    return {"id": cube.id, "kind": "agent" if cube.kind == "private" else "kb", "name": cube.name,
            "description": cube.description, "owner": cube.owner}


def bundle_header(cube: Cube, created_at: int) -> dict[str, Any]:
    return {"object": "header", "format": FORMAT, "version": VERSION, "created_at": iso(created_at),
            "producer": {"name": PRODUCER, "version": producer_version()}, "cubes": [cube_info(cube)]}


class Embedding:
    """The model and width of the vectors an export wrote, for the manifest (known once they are written)."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.dim = 0

    def saw(self, model: str, dim: int) -> None:
        self.model, self.dim = model, dim

    def manifest(self) -> dict[str, Any]:
        return {"embedding": {"model": self.model, "dimensions": self.dim}} if self.model else {}


def cube_objects(store: BundleReader, cube: Cube, *, vectors: bool, seen: Embedding) -> Iterator[dict[str, Any]]:
    """Everything the cube holds as interchange objects, in bundle order (pipeline/interchange/model.py)."""
    for ep in store.all_episodes():
        yield export.episode_object(ep, cube.id)
        if vectors and ep["task_vector"] is not None:
            model = _episode_model(store)
            if model is not None:
                seen.saw(model, len(ep["task_vector"]))
                yield export.vector_object(ep["task_vector"], model, episode_id=ep["id"])
    for chunk in store.record_chunks():
        ids = [rec.id for rec, _, _ in chunk]
        versions, feedback = store.versions_of(ids), store.feedback_events(ids)
        links, superseded = store.links_by_src(ids), store.superseders(ids)
        images = store.images_of(ids)
        for rec, blob, model in chunk:
            obj = export.memory_object(rec, superseded.get(rec.id))
            if rec.id in images:
                obj["image"] = images[rec.id]  # its bytes: the ZIP container's `images/` (write_zip)
            yield obj
            if vectors and blob is not None and model is not None:
                vector = np.frombuffer(blob, dtype=np.float32)
                seen.saw(model, len(vector))
                yield export.vector_object(vector, model, memory_id=rec.id)
            for old in versions.get(rec.id, ()):
                yield export.version_object(rec.id, rec.tier, old)
            for event in feedback.get(rec.id, ()):
                yield export.feedback_object(rec.id, event)
            for link in links.get(rec.id, ()):
                yield export.link_object(link)


def _episode_model(store: BundleReader) -> str | None:
    """Task vectors are made by the model of the memories beside them (the cube has one model at a time)."""
    models = store.embed_models()
    return max(models, key=models.get) if models else None


def _file_chunks(path: Path, cleanup: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as f:
            while block := f.read(READ_CHUNK):
                yield block
    finally:
        shutil.rmtree(cleanup, ignore_errors=True)


@dataclass(frozen=True)
class ExportStream:
    media_type: str
    filename: str
    chunks: Iterator[bytes]


class InterchangeService:
    def __init__(self, paths: DataPaths, access: Access, intake: IntakeLog, audit: AuditLog,
                 chain: StageChain | None, model: str, dim: int, on_shard_written: Callable[[str], None],
                 images: ImageService | None = None) -> None:
        self._paths, self._access, self._intake, self._audit = paths, access, intake, audit
        self._images = images
        self._chain, self._model, self._dim = chain, model, dim
        self._on_shard_written = on_shard_written
        self._reports: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def schema() -> dict[str, Any]:
        return json_schema()

    # --- export ------------------------------------------------------------------------------

    def export(self, caller: Caller, cube_id: str | None, fmt: str, container: str = "jsonl",
               vectors: bool | None = None) -> ExportStream:
        """A readable cube in `fmt`; errors (access, format) are raised before the first byte.
        Vectors go into a `.memos.zip` unless `vectors` is false, into a `.memos.jsonl` only when true."""
        if fmt not in EXPORT_FORMATS:
            raise UnknownFormat(f"export format {fmt[:40]!r} is not one of {', '.join(EXPORT_FORMATS)}")
        if container not in ("jsonl", "zip"):
            raise Invalid("container is jsonl or zip")
        cube = self._access.require(caller, cube_id, Role.READ)
        self._audit.record(caller.agent, "cube.export", cube=cube.id, details={"format": fmt, "container": container})
        if fmt == MEMOS and container == "jsonl":
            return ExportStream("application/x-ndjson", f"{cube.id}.memos.jsonl", self._jsonl(cube, bool(vectors)))
        vectors = (fmt == MEMOS) if vectors is None else vectors
        tmp = Path(tempfile.mkdtemp(prefix="memos-export-"))
        try:
            path, media, name = self._export_file(cube, fmt, tmp, vectors)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return ExportStream(media, name, _file_chunks(path, tmp))

    def _open(self, cube: Cube) -> BundleReader | None:
        path = self._paths.cube_db(cube.id)
        return BundleReader(path) if path.exists() else None

    def _objects(self, cube: Cube, vectors: bool, seen: Embedding) -> Iterator[dict[str, Any]]:
        store = self._open(cube)
        if store is None:
            return
        with store:
            yield from cube_objects(store, cube, vectors=vectors, seen=seen)

    def _jsonl(self, cube: Cube, vectors: bool) -> Iterator[bytes]:
        seen = Embedding()
        yield from write_jsonl(bundle_header(cube, now_ms()), self._objects(cube, vectors, seen), seen.manifest)

    def _export_file(self, cube: Cube, fmt: str, tmp: Path, vectors: bool) -> tuple[Path, str, str]:
        seen = Embedding()
        header = bundle_header(cube, now_ms())
        if fmt == MEMOS:
            out = tmp / f"{cube.id}.memos.zip"
            with out.open("wb") as f:
                blobs = BlobStore(self._paths)
                write_zip(header, self._objects(cube, vectors, seen), f, seen.manifest,
                          blobs=lambda sha: blobs.read(cube.id, sha))
            return out, "application/zip", out.name
        if fmt == MARKDOWN:
            out = tmp / f"{cube.id}.vault.zip"
            write_vault_zip(header, self._objects(cube, False, seen), out)
            return out, "application/zip", out.name
        target = tmp / f"{cube.id}.{fmt}"
        formats.writer(fmt)(self._objects(cube, vectors, seen), target)
        if target.is_dir():
            zipped = tmp / f"{cube.id}.{fmt}.zip"
            zip_folder(target, zipped)
            return zipped, "application/zip", zipped.name
        return target, "application/octet-stream", _export_name(cube, fmt)

    # --- import ------------------------------------------------------------------------------

    def start_import(self, caller: Caller, path: Path, fmt: str, cube_id: str | None, *, dry_run: bool,
                     on_conflict: str) -> dict[str, Any]:
        """Check the uploaded file now, then plan and write it as a job; the job's id and state."""
        conflict = _on_conflict(on_conflict)
        cube = self._access.require(caller, cube_id, Role.WRITE)
        source, total = check_source(path, fmt)
        job_id = new_job_id()
        self._intake.append([(job_id, caller.agent, "import", total)], [])
        report = {"job_id": job_id, "cube": cube.id, "format": source.format, "dry_run": dry_run,
                  "on_conflict": conflict.value, "status": "running", "total": total, "done": 0,
                  "added": 0, "updated": 0, "skipped": 0, "errors": 0, "by_type": {}, "error_examples": [],
                  "reused_vectors": 0}
        with self._lock:
            self._reports[job_id] = report
            for old in [k for k, r in self._reports.items() if r["status"] != "running"][:-KEPT_REPORTS]:
                del self._reports[old]  # the newest finished reports stay readable
        if not dry_run:
            self._audit.record(caller.agent, "cube.import", cube=cube.id,
                               details={"format": source.format, "objects": total})
        threading.Thread(target=self._run, args=(job_id, path, source, cube, caller.agent, dry_run, conflict),
                         name=f"import-{job_id}", daemon=True).start()
        return dict(report)

    def _run(self, job_id: str, path: Path, source: Source, cube: Cube, agent: str, dry_run: bool,
             conflict: OnConflict) -> None:
        report = self._reports[job_id]

        def progress(n: int, tally: Tally) -> None:
            self._intake.advance_job(job_id, n)
            with self._lock:
                report["done"] += n
                report.update(tally.summary(), by_type=tally.by_type, error_examples=tally.error_examples)

        try:
            engine = ImportEngine(self._paths, None if dry_run else self._chain, cube, agent, self._model, self._dim,
                                  self._on_shard_written, images=self._images)
            tally = engine.run(source, conflict, progress=progress)
            self._intake.advance_job(job_id, 0)  # marks a job of no objects finished too
            with self._lock:
                report.update(tally.summary(), by_type=tally.by_type, error_examples=tally.error_examples,
                              reused_vectors=engine.reused_vectors, status="done")
            log.info("import %s into %s: %s", job_id, cube.id, tally.summary())
        except Exception as exc:  # recorded on the job; what was written stays (an import can be run again)
            log.exception("import %s failed", job_id)
            self._intake.fail_job(job_id, f"{type(exc).__name__}: {exc}")
            with self._lock:
                report.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            if path.parent.name.startswith("upload-"):  # an upload's own folder (upload_dir)
                shutil.rmtree(path.parent, ignore_errors=True)

    def import_report(self, caller: Caller, job_id: str) -> dict[str, Any]:
        job = self._intake.job(check_job_id(job_id))
        with self._lock:
            report = self._reports.get(job_id)
            report = dict(report) if report is not None else None
        if job is None or job.agent != caller.agent or job.kind != "import" or report is None:
            raise NotFound(f"import {job_id} does not exist")
        report["finished_at"] = to_iso(job.finished_at) if job.finished_at else None
        return report

    def upload_dir(self) -> Path:
        """A fresh folder under the data dir for one upload (removed when its import ends)."""
        root = self._paths.root / "imports"
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="upload-", dir=root))


def check_source(path: Path, fmt: str) -> tuple[Source, int]:
    """The file's source and object count, every object checked; InvalidBundle names the first problem."""
    try:
        source = open_source(path, fmt, now_ms())
        count = sum(1 for _ in source.read())
    except (LineError, VersionRefused) as exc:
        raise bundle_error(exc) from None
    except UNREADABLE as exc:  # a damaged ZIP entry or Parquet file: the file's fault, not the server's
        raise InvalidBundle(f"invalid import file: {path.name} cannot be read ({type(exc).__name__}: {exc})") from None
    return source, count


def _on_conflict(value: str) -> OnConflict:
    try:
        return OnConflict(value)
    except ValueError:
        raise Invalid(f"on_conflict {value[:20]!r} is not one of skip, overwrite, new-ids") from None


def _export_name(cube: Cube, fmt: str) -> str:
    return {"mem0": f"{cube.id}.mem0.json", "letta": f"{cube.id}.af", "memos-plugin": f"{cube.id}.memos-plugin.json",
            "pam": f"{cube.id}.pam.json"}.get(fmt, f"{cube.id}.{fmt}")


def write_vault_zip(header: dict[str, Any], objects: Iterator[dict[str, Any]], out: Path) -> dict[str, int]:
    """The Markdown vault of `objects` as a ZIP, manifest.json last."""
    counts: dict[str, int] = {}
    files: dict[str, str] = {}

    def counted() -> Iterator[dict[str, Any]]:
        for obj in objects:
            counts[obj["object"]] = counts.get(obj["object"], 0) + 1
            yield obj

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in vault_files(counted()):
            zf.writestr(name, data)
            files[name] = digest(data)
        zf.writestr("manifest.json", vault_manifest(header, files, counts))
    return counts


def zip_folder(folder: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, str(path.relative_to(folder)))


# --- the import engine, online or offline ----------------------------------------------------------


def batches(objects: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Runs of about `size` objects, each ending before a memory, episode or link, so a memory's
    vector, versions and feedback always travel in its batch."""
    batch: list[dict[str, Any]] = []
    for obj in objects:
        if len(batch) >= size and obj["object"] in _HEADS:
            yield batch
            batch = []
        batch.append(obj)
    if batch:
        yield batch


class ImportEngine:
    """Writes one source into one cube: plan per batch, then the IMPORT route (no chain: a dry run)."""

    def __init__(self, paths: DataPaths, chain: StageChain | None, cube: Cube, agent: str, model: str, dim: int,
                 on_shard_written: Callable[[str], None] = lambda shard: None, near_duplicates: bool = False,
                 images: ImageService | None = None) -> None:
        self._paths, self._chain, self._cube, self._agent = paths, chain, cube, agent
        self._images = images
        self._model, self._dim = model, dim
        self._on_shard_written = on_shard_written
        self._near = near_duplicates
        self._in_flight: list[ray.ObjectRef] = []
        now = now_ms()
        # Negative seqs, unique per import: never an intake entry's, never another import's.
        self._next_seq = -((now % 1_000_000_000) * 1_000_000_000) - 1
        self._job = f"import-{new_ulid(now)}"
        self.reused_vectors = 0

    def _reuse(self, vector: dict[str, Any]) -> bool:
        """A bundle's vector is kept only when it comes from the model (name and width) this server embeds with."""
        return vector.get("model") == self._model and vector.get("dimensions") == self._dim

    def run(self, source: Source, on_conflict: OnConflict,
            progress: Callable[[int, Tally], None] = lambda n, tally: None) -> Tally:
        now = now_ms()
        planner = Planner(source.mode, on_conflict, self._cube.id, self._agent, now, self._reuse)
        objects: Iterator[dict[str, Any]] = source.read()
        if on_conflict is OnConflict.NEW_IDS:
            salt = new_ulid(now)[-8:]
            objects = (remap(obj, salt) for obj in objects)
        try:
            for batch in batches(objects, BATCH_OBJECTS):
                self._store_images(batch, source)
                ops, vectors = planner.plan(batch, self._stored(batch))
                self._submit(ops, vectors, planner.tally)
                progress(len(batch), planner.tally)
            self._submit(planner.closes, {}, planner.tally)  # live episodes close once their traces are in
            self._drain(planner.tally)
        except (LineError, VersionRefused) as exc:  # the file changed between the check and now
            raise bundle_error(exc) from None
        finally:
            self._settle()
        return planner.tally

    def _store_images(self, batch: list[dict[str, Any]], source: Source) -> None:
        """Each image memory's bytes stored in the target cube before its memory is planned; one whose
        bytes the bundle lacks (a JSON lines bundle), or that the server would refuse, comes in without them."""
        for obj in batch:
            image = obj.get("image") if obj.get("object") == "memory" else None
            if not isinstance(image, dict):
                continue
            data = source.image(str(image.get("sha256")))
            try:
                if data is None or self._images is None:
                    raise NotFound("the bundle does not hold its bytes")
                prepared = prepare_image(data, self._images.limits, keep_gps=True)  # held to today's limits
                if self._chain is not None:
                    self._images.store(self._cube.id, prepared)
            except MemosError as exc:
                log.warning("import into %s: memory %s comes without its image (%s)", self._cube.id, obj.get("id"),
                            exc.message)
                obj.pop("image")

    def _stored(self, batch: list[dict[str, Any]]) -> Stored:
        path = self._paths.cube_db(self._cube.id)
        if not path.exists():
            return Stored({}, {}, set())
        keys = wanted(batch)
        store = BundleReader(path)
        try:
            return Stored(store.records_by_id(keys.memories), store.episodes_by_id(keys.episodes),
                          store.link_keys(keys.links))
        finally:
            store.close()

    def _submit(self, ops: list[PlannedOp], vectors: dict[str, list[float]], tally: Tally) -> None:
        if self._chain is None or not ops:
            return
        entries = []
        for op in ops:
            entries.append({"seq": self._next_seq, "job_id": self._job, "op": op.op, "cube": self._cube.id,
                            "memory_id": op.target, "payload": encode_draft(op.fields)})
            self._next_seq -= 1
        self.reused_vectors += len(vectors)
        batch = pa.RecordBatch.from_pylist(entries, schema=INTAKE_SCHEMA)
        given = {k: np.asarray(v, dtype=np.float32) for k, v in vectors.items()}
        self._in_flight.append(self._chain.submit(batch, self._cube.shard, IMPORT, vectors=given,
                                                  near_duplicates=self._near))
        while len(self._in_flight) >= IN_FLIGHT:
            self._land(self._in_flight.pop(0), tally)

    def _land(self, ref: ray.ObjectRef, tally: Tally) -> None:
        out = ray.get(ref)
        if out["failed"]:
            tally.fail(len(out["failed"]), (f"{code}: {message}" for _, code, message in out["failed"]))
        self._on_shard_written(self._cube.shard)

    def _drain(self, tally: Tally) -> None:
        while self._in_flight:
            self._land(self._in_flight.pop(0), tally)

    def _settle(self) -> None:
        """Lance compacted; the shard's dedupe and crystallize stages reload the cube from its file,
        since restored rows reached it without passing through their memory of it."""
        if self._chain is None:
            return
        for ref in self._in_flight:  # after an error: let what was submitted land before forgetting
            try:
                ray.get(ref)
            except ray.exceptions.RayError:
                log.warning("an import batch failed while stopping")
        self._in_flight.clear()
        shard = self._cube.shard
        ray.get([self._chain.actor(Stage.WRITE, shard).settle.remote(),
                 self._chain.actor(Stage.DEDUPE, shard).forget_cube.remote(self._cube.id),
                 self._chain.actor(Stage.CRYSTALLIZE, shard).forget_cube.remote(self._cube.id)])
        self._on_shard_written(shard)
