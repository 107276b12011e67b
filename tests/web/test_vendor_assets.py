"""The vendored browser libraries are exactly what api/web/vendor_assets.py pins, each with its licence."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from api.web.vendor_assets import LIBRARIES, VENDOR, Library, VendorError, apply_patches, integrity_of, unpack, verify


def test_the_committed_files_match_versions_json():
    assert verify() == []


def test_versions_json_lists_every_pinned_library_and_nothing_else():
    record = json.loads((VENDOR / "VERSIONS.json").read_text())
    assert {lib: (e["name"], e["version"], e["integrity"]) for lib, e in record.items()} == {
        lib.lib: (lib.package, lib.version, lib.integrity) for lib in LIBRARIES}
    on_disk = sorted(str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file())
    listed = sorted([f"{lib}/{name}" for lib, e in record.items() for name in e["files"]] + ["VERSIONS.json"])
    assert on_disk == listed


def test_every_library_ships_its_licence_and_the_files_the_pages_load():
    for lib in LIBRARIES:
        assert (VENDOR / lib.lib / "LICENSE").stat().st_size > 200, lib.package
    expected = ["htmx/htmx.min.js", "cytoscape/cytoscape.min.js", "uplot/uPlot.iife.min.js", "uplot/uPlot.min.css",
                "axe-core/axe.min.js", "swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css",
                "redoc/redoc.standalone.js"]
    assert [name for name in expected if not (VENDOR / name).is_file()] == []


def test_no_vendored_script_names_a_cdn_it_would_load_from():
    # What the pages run must not reach for another host (the browser tests check the requests too).
    for name in ("redoc/redoc.standalone.js", "swagger-ui/swagger-ui-bundle.js"):
        text = (VENDOR / name).read_text()
        assert "cdn.redoc.ly" not in text and "cdn.jsdelivr.net" not in text and "unpkg.com" not in text, name


def tarball(tmp_path: Path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "pkg-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_unpack_copies_only_the_named_files_and_applies_patches(tmp_path: Path):
    tgz = tarball(tmp_path, {"dist/a.min.js": b"load('https://cdn.example/x')", "LICENSE": b"MIT", "src/a.js": b"x"})
    lib = Library("a", "a", "1.0.0", integrity_of(tgz), {"dist/a.min.js": "a.min.js", "LICENSE": "LICENSE"}, "MIT",
                  {"a.min.js": (("no outside host", "'https://cdn.example/x'", "null"),)})
    files = unpack(lib, tgz, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["LICENSE", "a.min.js"]
    assert (tmp_path / "out" / "a.min.js").read_text() == "load(null)"
    assert files == {"LICENSE": hashlib.sha256(b"MIT").hexdigest(), "a.min.js": hashlib.sha256(b"load(null)").hexdigest()}


def test_a_missing_file_or_a_patch_that_no_longer_applies_stops_the_run(tmp_path: Path):
    tgz = tarball(tmp_path, {"LICENSE": b"MIT"})
    lib = Library("a", "a", "1.0.0", integrity_of(tgz), {"dist/a.min.js": "a.min.js"}, "MIT")
    with pytest.raises(VendorError, match="has no file dist/a.min.js"):
        unpack(lib, tgz, tmp_path / "out")
    target = tmp_path / "b.js"
    target.write_text("x(); x();")
    with pytest.raises(VendorError, match="found it 2 times"):
        apply_patches(target, (("why", "x();", "y();"),))
    with pytest.raises(VendorError, match="found it 0 times"):
        apply_patches(target, (("why", "z();", "y();"),))
    assert target.read_text() == "x(); x();"  # nothing half-written

