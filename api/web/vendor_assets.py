"""Vendor the UI's third-party browser assets from the npm registry: pinned, checked, licences kept.

    python -m api.web.vendor_assets          # what `make ui-assets` runs

Each library is fetched with `npm pack <name>@<version>` (npm's own client, so its registry and
proxy settings apply), the tarball's sha512 is checked against the integrity pinned below, and only
the files the pages load plus the package's licence files are copied to
`api/web/static/vendor/<lib>/`. `VERSIONS.json` records name, version, tarball integrity and the
sha256 of every copied file. The output is committed: a fresh clone serves the UI and `/docs`
offline without node or a network. Bumping a version means changing it and its integrity here
(`npm view <name>@<version> dist.integrity`) and running this again.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"


@dataclass(frozen=True)
class Library:
    lib: str  # the folder under static/vendor/
    package: str  # the npm package name
    version: str
    integrity: str  # the registry's dist.integrity of that version's tarball
    files: dict[str, str]  # path inside the package -> name under static/vendor/<lib>/
    license: str  # the SPDX expression the package declares
    # name under static/vendor/<lib>/ -> (why, exact text, replacement); each text must occur exactly once
    patches: dict[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)


LIBRARIES = (
    # htmx 2, not 4: 4 changed attribute inheritance and event names; 2 is the line whose behaviour the
    # pages are written for, and it runs under a CSP without 'unsafe-eval' once `allowEval` is off.
    Library("htmx", "htmx.org", "2.0.11",
            "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==",
            {"dist/htmx.min.js": "htmx.min.js", "LICENSE": "LICENSE"}, "0BSD"),
    Library("cytoscape", "cytoscape", "3.35.0",
            "sha512-sMvBIXiGMnhkCaWz2R06FwF/27MNlS+Tqvi17foO9UhnUg3XGZccKjxsvEqQFAQYMSSZmN5SxYzUYlQ0DOJJ3g==",
            {"dist/cytoscape.min.js": "cytoscape.min.js", "LICENSE": "LICENSE"}, "MIT"),
    Library("uplot", "uplot", "1.6.32",
            "sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==",
            {"dist/uPlot.iife.min.js": "uPlot.iife.min.js", "dist/uPlot.min.css": "uPlot.min.css",
             "LICENSE": "LICENSE"}, "MIT"),
    # Only the browser tests load axe-core; it ships with the rest so they run offline too.
    Library("axe-core", "axe-core", "4.14.1",
            "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
            {"axe.min.js": "axe.min.js", "LICENSE": "LICENSE", "LICENSE-3RD-PARTY.txt": "LICENSE-3RD-PARTY.txt"},
            "MPL-2.0"),
    Library("swagger-ui", "swagger-ui-dist", "5.35.0",
            "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
            {"swagger-ui-bundle.js": "swagger-ui-bundle.js", "swagger-ui.css": "swagger-ui.css",
             "favicon-32x32.png": "favicon-32x32.png", "LICENSE": "LICENSE", "NOTICE": "NOTICE",
             "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt"}, "Apache-2.0"),
    # ReDoc 2, not 3: 3's standalone bundle is an ES module that fetches its logo from cdn.redoc.ly.
    Library("redoc", "redoc", "2.5.2",
            "sha512-sTJfItvRkcDTojB6wdLN4M+Ua6mlZwElV21Tf8Mn7IbQF/1Os6GvgQpZyLWPGZZHbhy7GC1Or1hTMHfz1vKh5A==",
            {"bundles/redoc.standalone.js": "redoc.standalone.js", "LICENSE": "LICENSE",
             "bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt"}, "MIT",
            {"redoc.standalone.js": (
                ("the side menu's logo is an image on cdn.redoc.ly: the page would ask another host",
                 'e?n.createElement("img",{alt:"redocly logo",onError:()=>t(!1),'
                 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"}):null', "null"),
                ("its dropdowns (examples, variants) have no accessible name (axe: select-name, critical)",
                 'value:o,className:"dropdown-select"}', 'value:o,className:"dropdown-select","aria-label":i||"Choose"}'),
            )}),
)


class VendorError(RuntimeError):
    """A tarball could not be fetched, did not match its pinned integrity, or lacks a named file."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def integrity_of(tarball: Path) -> str:
    """The tarball's Subresource-Integrity string, as the npm registry states it."""
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()


def fetch(library: Library, into: Path) -> Path:
    """The library's tarball, fetched by npm and checked against the pinned integrity."""
    spec = f"{library.package}@{library.version}"
    done = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(into)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise VendorError(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
    tarball = into / json.loads(done.stdout)[0]["filename"]
    if (found := integrity_of(tarball)) != library.integrity:
        raise VendorError(f"{spec}: the tarball's integrity {found} is not the pinned {library.integrity}")
    return tarball


def unpack(library: Library, tarball: Path, dest: Path) -> dict[str, str]:
    """Copy the named files out of the tarball into dest; returns name -> sha256."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as tar:
        for inside, name in library.files.items():
            try:
                member = tar.getmember(f"package/{inside}")
            except KeyError:
                member = None
            source = tar.extractfile(member) if member is not None and member.isfile() else None
            if source is None:
                raise VendorError(f"{library.package}@{library.version} has no file {inside}")
            (dest / name).write_bytes(source.read())
    for name, changes in library.patches.items():
        apply_patches(dest / name, changes)
    return {name: sha256_of(dest / name) for name in sorted(library.files.values())}


def apply_patches(path: Path, changes: tuple[tuple[str, str, str], ...]) -> None:
    """Edit a vendored file in place; a text that is not there exactly once stops the run (a new version)."""
    text = path.read_text()
    for why, old, new in changes:
        if (found := text.count(old)) != 1:
            raise VendorError(f"{path.name}: the patch for {why!r} expects its text once, found it {found} times")
        text = text.replace(old, new)
    path.write_text(text)


def vendor(libraries: tuple[Library, ...] = LIBRARIES, out: Path = VENDOR) -> dict[str, object]:
    """Fetch every library into a fresh folder, then swap it in whole, so a failure leaves the old set."""
    with tempfile.TemporaryDirectory(prefix="memos-vendor-") as tmp:
        staging = Path(tmp) / "vendor"
        record: dict[str, object] = {}
        for library in libraries:
            tarball = fetch(library, Path(tmp))
            files = unpack(library, tarball, staging / library.lib)
            record[library.lib] = {"name": library.package, "version": library.version, "license": library.license,
                                   "integrity": library.integrity, "files": files,
                                   "patched": {name: [why for why, _, _ in changes]
                                               for name, changes in library.patches.items()}}
            print(f"{library.package}@{library.version} -> {library.lib}/ ({', '.join(files)})", file=sys.stderr)
        (staging / "VERSIONS.json").write_text(json.dumps(record, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, out)
    return record


def verify(out: Path = VENDOR) -> list[str]:
    """What differs between the vendored files and VERSIONS.json (empty when they agree)."""
    record = json.loads((out / "VERSIONS.json").read_text())
    problems = []
    for lib, entry in record.items():
        for name, digest in entry["files"].items():
            path = out / lib / name
            if not path.is_file():
                problems.append(f"{lib}/{name} is missing")
            elif sha256_of(path) != digest:
                problems.append(f"{lib}/{name} does not match its sha256 in VERSIONS.json")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the vendored files against VERSIONS.json")
    args = parser.parse_args(argv)
    if args.check:
        problems = verify()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    try:
        vendor()
    except (VendorError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"ui-assets: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
