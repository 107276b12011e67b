"""Image writes (docs/images.md): upload latency both ways, and OCR time per image.

    python -m benchmarks.images --out benchmarks/out/images.json            # 20 images each way
    python -m benchmarks.images --out benchmarks/out/images.json --images 50

Starts a fresh server, then, one client at a time: N JSON uploads (base64 `image`) and N
multipart uploads of distinct PNGs of drawn words (1000x192, ~10 KB) and of a 1600x1200 photo-like
JPEG (~400 KB), each timed to its 202 (checking, GPS removal, thumbnail, the blob's fsync and the
intake commit: everything before the answer). Then the time from the last 202 until every image
is searchable (the parse stage's OCR, then the rest of the pipeline), and, in this process, OCR
alone per image (`pipeline/ocr.py` `read_text`, the parse stage's own call).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from api.server_process import start_server
from benchmarks.machine import describe
from pipeline.ocr import read_text
from tests.image_builders import words_png


def log(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


def photo_jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (1600, 1200), (seed * 37 % 256, 90, 160))
    draw = ImageDraw.Draw(image)
    for i in range(200):
        x, y = (i * 97 + seed * 13) % 1600, (i * 61 + seed * 7) % 1200
        draw.ellipse((x, y, x + 80, y + 50), fill=((i * 11) % 256, (i * 29) % 256, (seed * 5) % 256))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50_ms": round(statistics.median(values) * 1000, 1),
            "p90_ms": round(values[int(len(values) * 0.9) - 1] * 1000, 1), "n": len(values)}


def run(n: int) -> dict:
    words = [words_png(f"BENCH WORD{i:03d} HARBOUR") for i in range(2 * n)]
    photos = [photo_jpeg(i) for i in range(2 * n)]
    with tempfile.TemporaryDirectory(prefix="memos-bench-images-") as tmp:
        server = start_server(Path(tmp) / "data", timeout=600)
        try:
            with httpx.Client(base_url=server.url, headers={"X-Agent-Id": "bench-images"}, timeout=120) as c:
                c.post("/v1/memories?wait=true", json={"image": base64.b64encode(words_png("WARM UP")).decode()})
                figures: dict[str, dict] = {}
                for name, images in (("png", words), ("jpeg", photos)):
                    for way in ("json", "multipart"):
                        batch = images[:n] if way == "json" else images[n:]
                        took = []
                        for i, data in enumerate(batch):
                            start = time.perf_counter()
                            if way == "json":
                                r = c.post("/v1/memories", json={"image": base64.b64encode(data).decode(),
                                                                 "content": f"{name} {i}"})
                            else:
                                r = c.post("/v1/memories", files={"file": ("x", data)}, data={"content": f"{name} {i}"})
                            took.append(time.perf_counter() - start)
                            assert r.status_code == 202, r.text
                        figures[f"upload_{name}_{way}"] = ms(took)
                        log(f"{name} {way}: {figures[f'upload_{name}_{way}']}")
                last = f"WORD{2 * n - 1:03d}"
                start = time.perf_counter()
                while not c.post("/v1/search", json={"query": last, "ranking": {"channels": ["bm25"]}}).json()["results"]:
                    time.sleep(0.2)
                figures["searchable_after_last_202_s"] = round(time.perf_counter() - start, 2)
        finally:
            server.stop()
    ocr = []
    for data in words[:10]:
        start = time.perf_counter()
        read_text(data)
        ocr.append(time.perf_counter() - start)
    figures["ocr_png_in_process"] = ms(ocr)
    ocr = []
    for data in photos[:5]:
        start = time.perf_counter()
        read_text(data)
        ocr.append(time.perf_counter() - start)
    figures["ocr_jpeg_1600x1200_in_process"] = ms(ocr)
    return {"benchmark": "images", "images_per_way": n, "png_bytes": len(words[0]), "jpeg_bytes": len(photos[0]),
            **figures, "machine": describe()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/images.json"))
    parser.add_argument("--images", type=int, default=20)
    args = parser.parse_args()
    result = run(args.images)
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
