"""Image memories over HTTP (issue 17): both ways in, bytes served, OCR'd words searchable, GPS removed
unless kept, identical bytes stored once, bad images refused with nothing stored, cubes kept apart."""

from __future__ import annotations

import base64
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import ExifTags, Image

from api.server_process import ServerProcess
from configs import Settings
from service.access import Access
from service.images import ImageService
from service.locate import CubeLocator
from storage.intake_log import IntakeLog
from storage.paths import DataPaths
from storage.read_side import ReadSide, VectorTuning
from storage.registry import Registry
from tests.image_builders import bomb_png, gps_jpeg, truncated, words_png


def client(server: ServerProcess, agent: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-Agent-Id": agent}, timeout=120)


@pytest.fixture
def agent(server: ServerProcess) -> Iterator[httpx.Client]:
    with client(server, f"img-{uuid.uuid4().hex[:10]}") as c:
        yield c


def cube_of(c: httpx.Client) -> str:
    return f"agent-{c.headers['X-Agent-Id']}"


def blobs(server: ServerProcess, c: httpx.Client) -> list[str]:
    folder = DataPaths(server.data_dir).blobs_dir(cube_of(c))
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_json_image_is_stored_served_and_its_drawn_words_are_found_by_search(server, agent):
    png = words_png("PELICAN ZEPHYR 4721")
    r = agent.post("/v1/memories?wait=true", json={"image": b64(png), "content": "a sign seen at the harbour",
                                                   "tags": ["trip"]})
    assert r.status_code == 201, r.text
    memory = r.json()
    assert (memory["kind"], memory["content"], memory["tags"]) == ("image", "a sign seen at the harbour", ["trip"])
    image = memory["image"]
    assert (image["mime"], image["width"], image["height"], image["bytes"]) == ("image/png", 1000, 192, len(png))
    assert (image["gps_removed"], image["gps_kept"], image["exif"]) == (False, False, {})
    assert agent.get(f"/v1/memories/{memory['id']}").json()["image"] == image

    content = agent.get(f"/v1/memories/{memory['id']}/content")
    assert (content.status_code, content.headers["content-type"], content.content) == (200, "image/png", png)
    thumb = agent.get(f"/v1/memories/{memory['id']}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (256, 49)

    hits = agent.post("/v1/search", json={"query": "zephyr", "ranking": {"channels": ["bm25"]}}).json()["results"]
    assert [h["id"] for h in hits] == [memory["id"]]  # a word only the image holds, read by OCR
    listed = agent.get("/v1/memories", params={"kind": "image"}).json()["items"]
    assert [(m["id"], m["image"]["sha256"]) for m in listed] == [(memory["id"], image["sha256"])]


def test_a_multipart_upload_takes_the_usual_fields_and_sniffs_the_type_from_the_bytes(server, agent):
    jpeg = gps_jpeg()
    r = agent.post("/v1/memories?wait=true", files={"file": ("holiday.png", jpeg, "image/png")}, data={
        "content": "the red wall", "tags": ["wall", "red"], "metadata": '{"caption": "a crimson brick wall"}',
        "id": "wall-1"})
    assert r.status_code == 201, r.text
    memory = r.json()
    assert (memory["id"], memory["kind"], memory["tags"], memory["metadata"]) == (
        "wall-1", "image", ["wall", "red"], {"caption": "a crimson brick wall"})
    assert memory["image"]["mime"] == "image/jpeg"  # what the bytes are, not what the client said
    assert agent.get("/v1/memories/wall-1/content").headers["content-type"] == "image/jpeg"
    hits = agent.post("/v1/search", json={"query": "crimson brick", "ranking": {"channels": ["bm25"]}}).json()["results"]
    assert [h["id"] for h in hits] == ["wall-1"]
    # the same id again is the usual no-op
    again = agent.post("/v1/memories", files={"file": ("x.jpg", jpeg, "image/jpeg")}, data={"id": "wall-1"})
    assert (again.status_code, again.json()["status"]) == (200, "exists")


def _gps_of(data: bytes) -> dict:
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo))


def test_gps_is_removed_from_the_stored_bytes_unless_the_caller_keeps_it(server, agent):
    jpeg = gps_jpeg(color=(10, 120, 200))
    assert _gps_of(jpeg)  # the upload carries a position
    stripped = agent.post("/v1/memories?wait=true", json={"image": b64(jpeg), "content": "blue photo"}).json()
    kept = agent.post("/v1/memories?wait=true", files={"file": ("p.jpg", jpeg, "image/jpeg")},
                      data={"content": "blue photo, located", "keep_gps": "true"}).json()
    assert (stripped["image"]["gps_removed"], stripped["image"]["gps_kept"]) == (True, False)
    assert (kept["image"]["gps_removed"], kept["image"]["gps_kept"]) == (False, True)
    assert "GPS" not in stripped["image"]["exif"] and stripped["image"]["exif"]["Make"] == "TestCam"
    assert kept["image"]["exif"]["GPS"]["GPSLatitudeRef"] == "N"
    served = agent.get(f"/v1/memories/{stripped['id']}/content").content
    assert _gps_of(served) == {} and Image.open(io.BytesIO(served)).getexif()[ExifTags.Base.Make] == "TestCam"
    # the pixels are the upload's own: a JPEG is edited, not encoded again
    assert served[served.index(b"\xff\xda"):] == jpeg[jpeg.index(b"\xff\xda"):]
    assert agent.get(f"/v1/memories/{kept['id']}/content").content == jpeg
    assert stripped["image"]["sha256"] != kept["image"]["sha256"]


def test_the_same_bytes_sent_twice_are_stored_once(server, agent):
    png = words_png("ONCE ONLY")
    first = agent.post("/v1/memories?wait=true", json={"image": b64(png), "content": "first copy"}).json()
    second = agent.post("/v1/memories?wait=true", files={"file": ("b.png", png, "image/png")},
                        data={"content": "second copy"}).json()
    assert first["id"] != second["id"] and first["image"]["sha256"] == second["image"]["sha256"]
    sha = first["image"]["sha256"]
    assert blobs(server, agent) == [sha, f"{sha}.thumb"]
    assert agent.get(f"/v1/memories/{second['id']}/content").content == png
    # the accept fast path (JSON, no query string) takes an image too, and stores it once as well
    third = agent.post("/v1/memories", json={"image": b64(png), "content": "third copy"})
    assert third.status_code == 202 and blobs(server, agent) == [sha, f"{sha}.thumb"]
    for _ in range(400):
        if agent.get(f"/v1/jobs/{third.json()['job_id']}").json()["status"] == "done":
            break
        time.sleep(0.1)
    assert agent.get(f"/v1/memories/{third.json()['id']}").json()["image"]["sha256"] == sha


@pytest.mark.parametrize(("name", "data", "status", "code"), [
    ("bomb", bomb_png(), 413, "image_too_large"),
    ("truncated", truncated(words_png("CUT SHORT")), 422, "image_unreadable"),
    ("not an image", b"%PDF-1.7 this is not an image at all", 415, "not_an_image"),
    ("oversized", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_600_000, 413, "image_too_large"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_a_bad_image_is_refused_with_its_code_and_nothing_is_stored(server, agent, name, data, status, code):
    as_json = agent.post("/v1/memories", json={"image": b64(data), "content": f"bad {name}"}) \
        if len(data) < 1_000_000 else None
    as_form = agent.post("/v1/memories", files={"file": ("x.png", data, "image/png")}, data={"content": f"bad {name}"})
    for r in filter(None, (as_json, as_form)):
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert blobs(server, agent) == []
    assert agent.get("/v1/memories", params={"status": "all"}).json()["items"] == []


def test_bad_requests_around_images_are_4xx_and_store_nothing(server, agent):
    png = words_png("NOPE")
    cases = [
        (agent.post("/v1/memories", json={"image": "not base64!"}), 422, "invalid"),
        (agent.post("/v1/memories", json={"image": "QUJDRA="}), 422, "invalid"),  # bad padding
        (agent.post("/v1/memories", json={"image": b64(png), "kind": "note"}), 422, "invalid"),
        (agent.post("/v1/memories", data={"content": "no file"}, files={"other": ("a", b"x")}), 422, "invalid"),
        (agent.post("/v1/memories", files={"file": ("a.png", png)}, data={"metadata": "{not json"}), 400,
         "malformed_request"),
        (agent.post("/v1/memories", files={"file": ("a.png", png)}, data={"bogus": "1"}), 422, "invalid"),
        (httpx.post(f"{server.url}/v1/memories", files={"file": ("a.png", png)}), 400, "malformed_request"),
    ]
    for r, status, code in cases:
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert blobs(server, agent) == []
    assert agent.get("/v1/memories", params={"status": "all"}).json()["items"] == []


def test_another_agent_cannot_fetch_an_image_or_its_thumbnail(server, agent):
    memory = agent.post("/v1/memories?wait=true", json={"image": b64(gps_jpeg((1, 2, 3))), "content": "mine"}).json()
    with client(server, f"img-other-{uuid.uuid4().hex[:8]}") as other:
        for path in ("content", "thumbnail"):
            r = other.get(f"/v1/memories/{memory['id']}/{path}")
            assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
            r = other.get(f"/v1/memories/{memory['id']}/{path}", params={"cube": cube_of(agent)})
            assert r.status_code == 404
    text = agent.post("/v1/memories?wait=true", json={"content": "just words"}).json()
    assert agent.get(f"/v1/memories/{text['id']}/content").status_code == 404


def test_an_image_travels_in_a_zip_bundle_and_comes_back_with_its_bytes(server, agent, tmp_path: Path):
    png = words_png("ROUND TRIP 88")
    memory = agent.post("/v1/memories?wait=true", json={"image": b64(png), "content": "travelling image"}).json()
    bundle = agent.get("/v1/export", params={"container": "zip"})
    assert bundle.status_code == 200
    with client(server, f"img-import-{uuid.uuid4().hex[:8]}") as other:
        r = other.post("/v1/import", files={"file": ("b.memos.zip", bundle.content, "application/zip")})
        assert r.status_code == 202, r.text
        job = r.json()["job_id"]
        for _ in range(240):
            report = other.get(f"/v1/import/{job}").json()
            if report["status"] in ("done", "failed"):
                break
            time.sleep(0.25)
        assert report["status"] == "done", report
        got = other.get(f"/v1/memories/{memory['id']}")
        assert got.status_code == 200 and got.json()["image"]["sha256"] == memory["image"]["sha256"]
        assert other.get(f"/v1/memories/{memory['id']}/content").content == png
        assert other.get(f"/v1/memories/{memory['id']}/thumbnail").status_code == 200
        hits = other.post("/v1/search", json={"query": "round trip", "ranking": {"channels": ["bm25"]}}).json()["results"]
        assert memory["id"] in [h["id"] for h in hits]


def test_a_deleted_images_blob_is_named_unreferenced_and_can_be_removed(server, agent):
    keep = agent.post("/v1/memories?wait=true", json={"image": b64(words_png("STAYS")), "content": "kept"}).json()
    gone = agent.post("/v1/memories?wait=true", json={"image": b64(words_png("GOES")), "content": "deleted"}).json()
    assert agent.delete(f"/v1/memories/{gone['id']}").status_code == 204
    assert agent.get(f"/v1/memories/{gone['id']}/content").status_code == 404
    paths = DataPaths(server.data_dir)
    registry, intake = Registry(paths.registry_db, 1), IntakeLog(paths.intake_db)
    read = ReadSide(paths, 384, VectorTuning(0, 1, 1, 1, 0))
    try:
        images = ImageService(Settings(data_dir=server.data_dir), paths,
                              CubeLocator(Access(registry), read, intake), read, intake)
        cube = cube_of(agent)
        assert images.unreferenced_blobs(cube) == []  # too young: its write may still be on its way
        assert images.unreferenced_blobs(cube, grace_s=0) == [gone["image"]["sha256"]]
        assert images.remove_unreferenced(cube, grace_s=0) == 1
    finally:
        read.close()
        intake.close()
        registry.close()
    sha = keep["image"]["sha256"]
    assert blobs(server, agent) == [sha, f"{sha}.thumb"]
    assert agent.get(f"/v1/memories/{keep['id']}/content").status_code == 200


def test_a_shared_image_brings_its_bytes_to_the_cube_it_is_copied_to(server, agent):
    jpeg = gps_jpeg((90, 200, 90))
    memory = agent.post("/v1/memories?wait=true", json={"image": b64(jpeg), "content": "green"}).json()
    kb = agent.post("/v1/cubes", json={"name": "image shelf"}).json()["id"]
    copy = agent.post(f"/v1/memories/{memory['id']}/share", json={"to": kb})
    assert copy.status_code == 201, copy.text
    copied = copy.json()
    assert (copied["cube"], copied["image"]["sha256"]) == (kb, memory["image"]["sha256"])
    served = agent.get(f"/v1/memories/{copied['id']}/content", params={"cube": kb})
    assert served.content == agent.get(f"/v1/memories/{memory['id']}/content").content
    assert _gps_of(served.content) == {}  # stored as it was: GPS gone, not put back
    assert agent.delete(f"/v1/cubes/{kb}").status_code == 204
    assert not DataPaths(server.data_dir).blobs_dir(kb).exists()  # a deleted cube's images go with it
