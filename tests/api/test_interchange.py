"""Import and export over HTTP (issue 15): a bundle round-trips losslessly into an empty server, a
second import stores nothing new, a dry run writes nothing, an invalid file writes nothing and says
where it is wrong, an edited vault file becomes the next version, vectors are reused only from
the same model.

One source cube with every kind of state is built once on a server of this module; the imports go
into a second, empty server.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest

from api.server_process import ServerProcess, start_server

SOURCE = "ic_source"
DEPLOYS = [("api", "v1.2"), ("web", "v3.0"), ("billing", "v0.9"), ("search", "v2.1"), ("auth", "v5.5"), ("mail", "v1.0")]


def ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, response.text
    return response


def build_rich_cube(c: httpx.Client) -> None:
    """Every tier and every kind of state: facts superseded and corrected, a duplicate, versions,
    feedback, a user link, closed episodes that crystallized a skill with two versions, an open one,
    tool calls whose results mix strings and objects, an image's metadata, non-ASCII text."""
    ok(c.post("/v1/memories?wait=true", json={"content": "My name is Zoë Müller and I live in Zürich.", "kind": "persona"}))
    for text, at in [("I live in Boston with my two cats.", "2024-01-10T10:00:00Z"), ("I live in Denver now.", "2024-06-01T10:00:00Z")]:
        ok(c.post("/v1/memories?wait=true", json={"content": text, "kind": "message", "metadata": {"speaker": "Caroline"},
                                                  "created_at": at}))
    ok(c.post("/v1/memories?wait=true", json={"id": "img-1", "content": "Photo du café", "kind": "image", "metadata": {
        "caption": "Un café ☕ à Paris", "url": "https://example.invalid/c.png", "mime": "image/png", "width": 640,
        "height": 480}}))
    ok(c.post("/v1/memories?wait=true", json={"id": "note-jp", "content": "日本語のメモ — naïve café 🚀", "tags": ["ünï", "x"]}))
    for i in range(2):
        ok(c.patch("/v1/memories/note-jp", json={"content": f"日本語のメモ v{i + 2} 🚀", "tags": ["ünï", f"v{i}"]}))
    ok(c.post("/v1/memories?wait=true", json={"id": "dup-a", "content": "The standup is at 9:30"}))
    ok(c.post("/v1/memories?wait=true", json={"id": "dup-b", "content": "The standup is at 9:30"}))
    ok(c.post("/v1/links", json={"src": "note-jp", "dst": "img-1", "type": "related_to", "metadata": {"why": "café"}}))
    ok(c.post("/v1/feedback", json={"memory_id": "note-jp", "signal": "useful", "note": "très utile"}))
    ok(c.post("/v1/feedback", json={"memory_id": "dup-a", "signal": "not_useful"}))
    for service, tag in DEPLOYS:
        episode = ok(c.post("/v1/episodes", json={"task": f"Deploy the {service} service with tag {tag}"})).json()["id"]
        calls = [
            {"name": "build_image", "arguments": {"service": service, "tag": tag}, "result": "built", "status": "ok"},
            {"name": "run_tests", "arguments": {"service": service}, "result": {"passed": 42, "failed": 0}, "status": "ok"},
            {"name": "push_image", "arguments": {"image": f"registry.local/{service}:{tag}"}, "status": "ok"},
            {"name": "rollout", "arguments": {"service": service, "tag": tag}, "result": "rolled out", "status": "ok",
             "duration_ms": 1200},
        ]
        ok(c.post("/v1/memories/batch", json={"items": [{"tool": call, "episode": episode, "id": f"{episode}-{j}"}
                                                          for j, call in enumerate(calls)]}))
        ok(c.patch(f"/v1/episodes/{episode}", json={"outcome": "success"}))
    episode = ok(c.post("/v1/episodes", json={"task": "Écrire un rapport"})).json()["id"]
    ok(c.post("/v1/memories?wait=true", json={"content": "Début du rapport", "kind": "message", "episode": episode,
                                              "metadata": {"role": "assistant"}}))
    zurich = [m for m in c.get("/v1/memories", params={"tier": "world"}).json()["items"] if "Zürich" in m["content"]]
    ok(c.post("/v1/feedback", json={"memory_id": zurich[0]["id"], "signal": "wrong",
                                    "correction": "Zoë Müller lives in Genève."}))


def export(c: httpx.Client, **params) -> bytes:
    return ok(c.get("/v1/export", params={"format": "memos", **params})).content


def lines(bundle: bytes) -> list[dict]:
    return [orjson.loads(line) for line in bundle.splitlines() if line.strip()]


def without_created_at(bundle: bytes) -> list[dict]:
    """The bundle with the one thing an export may change: the time it was made (header, manifest)."""
    return [{k: v for k, v in obj.items() if not (obj["object"] in ("header", "manifest") and k == "created_at")}
            for obj in lines(bundle)]


def run_import(c: httpx.Client, data: bytes, name: str = "bundle.memos.jsonl", **params) -> dict:
    started = c.post("/v1/import", params=params, files={"file": (name, data)})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    for _ in range(1200):
        report = ok(c.get(f"/v1/import/{job_id}")).json()
        if report["status"] != "running":
            assert report["status"] == "done", report
            return report
        time.sleep(0.1)
    raise AssertionError(f"import {job_id} did not finish")


def counts(report: dict) -> dict:
    return {k: report[k] for k in ("added", "updated", "skipped", "errors")}


def serving(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp(name) / "data", timeout=600)  # patient: a busy CI machine
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    for proc in serving(tmp_path_factory, "source"):
        with proc.client(SOURCE, timeout=120) as c:
            build_rich_cube(c)
            yield c


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serving(tmp_path_factory, "empty")


@pytest.fixture(scope="module")
def bundle(source: httpx.Client) -> bytes:
    return export(source)


def test_the_source_cube_holds_every_kind_of_state(bundle: bytes):
    objects = lines(bundle)
    kinds = {(o["object"], o.get("tier"), o.get("kind"), o.get("status")) for o in objects}
    for wanted in [("memory", "trace", "message", "active"), ("memory", "trace", "tool_call", "active"),
                   ("memory", "trace", "image", "active"), ("memory", "trace", "persona", "active"),
                   ("memory", "trace", "note", "duplicate"), ("memory", "trace", "summary", "active"),
                   ("memory", "world", "fact", "active"), ("memory", "world", "fact", "superseded"),
                   ("memory", "skill", "skill", "active"), ("skill_version", None, "skill", None),
                   ("version", None, "note", None), ("version", None, "fact", None),
                   ("feedback", None, None, None), ("episode", None, None, None)]:
        assert wanted in kinds, wanted
    links = {o["type"] for o in objects if o["object"] == "link"}
    assert {"supersedes", "derived_from", "part_of_episode", "duplicate_of", "related_to"} <= links
    assert objects[0]["object"] == "header" and objects[-1]["object"] == "manifest"
    results = {type(o["tool"].get("result")) for o in objects if o.get("tool")}
    assert {str, dict} <= results  # tool results mix strings and objects
    assert any(o["object"] == "episode" and "closed_at" not in o for o in objects)  # one episode is still open


def test_export_then_import_into_an_empty_server_then_export_gives_the_same_bundle(empty, bundle):
    with empty.client(SOURCE, timeout=120) as c:
        report = run_import(c, bundle)
        assert counts(report) == {"added": len(lines(bundle)) - 2, "updated": 0, "skipped": 0, "errors": 0}
        assert without_created_at(export(c)) == without_created_at(bundle)
        # and what was restored behaves: the skill is callable, the open episode still takes traces
        (skill,) = c.get("/v1/skills").json()
        assert skill["version"] == 2 and c.get(f"/v1/skills/{skill['id']}", params={"version": 1}).json()["runs"] == 5
        hits = c.post("/v1/search", json={"query": "日本語のメモ", "top_k": 3}).json()["results"]
        assert hits[0]["id"] == "note-jp"


def test_importing_the_same_bundle_twice_stores_nothing_new(empty, bundle):
    with empty.client("ic_twice", timeout=120) as c:
        first = run_import(c, bundle)
        after_first = export(c)
        second = run_import(c, bundle)
        assert counts(second) == {"added": 0, "updated": 0, "skipped": first["added"], "errors": 0}
        assert without_created_at(export(c)) == without_created_at(after_first)


def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(empty, bundle):
    with empty.client("ic_dry", timeout=120) as c:
        report = run_import(c, bundle, dry_run="true")
        assert report["dry_run"] is True
        assert counts(report) == {"added": len(lines(bundle)) - 2, "updated": 0, "skipped": 0, "errors": 0}
        assert c.get("/v1/memories", params={"status": "all"}).json()["items"] == []
        assert [o["object"] for o in lines(export(c))] == ["header", "manifest"]


def first_memory(ls: list[bytes]) -> int:
    return next(i for i, line in enumerate(ls) if b'"object":"memory"' in line)


def bad_time(ls: list[bytes]) -> str:
    i = first_memory(ls)
    ls[i] = ls[i].replace(b'"created_at":"', b'"created_at":"not a time ', 1)
    return f"line {i + 1}: temporal.created_at"


def cut_short(ls: list[bytes]) -> str:
    ls.pop()  # the manifest line is gone, as when the export's stream broke
    return "end of file: manifest: missing"


def changed_text(ls: list[bytes]) -> str:
    i = first_memory(ls)
    ls[i] = ls[i].replace(b'"content":"', b'"content":"changed ', 1)
    return "parts.memory.sha256: does not match"


@pytest.mark.parametrize("damage", [bad_time, cut_short, changed_text])
def test_an_invalid_file_is_refused_whole_naming_where_and_nothing_is_written(empty, bundle, damage):
    broken = bundle.splitlines()
    where = damage(broken)
    with empty.client(f"ic_invalid_{damage.__name__}", timeout=120) as c:
        r = c.post("/v1/import", files={"file": ("b.memos.jsonl", b"\n".join(broken) + b"\n")})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_bundle" and where in r.json()["error"]["message"]
        assert c.get("/v1/memories", params={"status": "all"}).json()["items"] == []


def test_a_bundle_of_a_newer_major_version_is_refused_with_a_clear_error(empty, bundle):
    newer = bundle.replace(b'"version":"1.0"', b'"version":"2.0"', 1)
    with empty.client("ic_newer", timeout=120) as c:
        r = c.post("/v1/import", files={"file": ("b.memos.jsonl", newer)})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_version"
        assert "2.0" in r.json()["error"]["message"] and "1.x" in r.json()["error"]["message"]


def test_an_edited_vault_file_becomes_the_next_version_of_the_same_memory(empty, source):
    vault = ok(source.get("/v1/export", params={"format": "markdown"})).content
    with empty.client("ic_vault", timeout=120) as c:
        assert counts(run_import(c, vault, "vault.zip"))["errors"] == 0
        before = ok(c.get("/v1/memories/note-jp")).json()
        files = zipfile.ZipFile(io.BytesIO(vault))
        edited = io.BytesIO()
        with zipfile.ZipFile(edited, "w") as out:
            for name in files.namelist():
                data = files.read(name)
                if name == "trace/note/note-jp.md":
                    assert "日本語のメモ v3 🚀\n" in data.decode()
                    data = data.replace("日本語のメモ v3 🚀".encode(), "日本語のメモ, edited by hand ✍️".encode())
                out.writestr(name, data)
        report = run_import(c, edited.getvalue(), "vault.zip")
        assert counts(report)["updated"] == 1 and report["by_type"]["memory"]["updated"] == 1
        after = ok(c.get("/v1/memories/note-jp")).json()
        assert (after["content"], after["version"]) == ("日本語のメモ, edited by hand ✍️", before["version"] + 1)
        history = ok(c.get("/v1/memories/note-jp/history")).json()["versions"]
        assert [v["content"] for v in history][-2:] == ["日本語のメモ v3 🚀", "日本語のメモ, edited by hand ✍️"]
        assert counts(run_import(c, edited.getvalue(), "vault.zip"))["updated"] == 0  # applied once only


def test_vectors_are_reused_only_from_the_same_model(empty, source):
    bundle = export(source, vectors="true")
    marked = []
    for obj in lines(bundle):
        if obj["object"] == "vector" and obj.get("memory_id") == "img-1":
            obj["vector"] = [1.0] + [0.0] * (obj["dimensions"] - 1)  # a vector the model would never make
        marked.append(obj)
    same = b"".join(orjson.dumps(o) + b"\n" for o in marked[1:-1])
    other = same.replace(b'"model":"all-MiniLM-L6-v2"', b'"model":"another-model"')
    for agent, body, reused in (("ic_vec_same", same, True), ("ic_vec_other", other, False)):
        with empty.client(agent, timeout=120) as c:
            # a headerless JSON body of objects is accepted too (POST /v1/import with application/json)
            r = c.post("/v1/import", content=b"[" + b",".join(body.splitlines()) + b"]",
                       headers={"content-type": "application/json"})
            assert r.status_code == 202, r.text
            job = r.json()["job_id"]
            while (report := c.get(f"/v1/import/{job}").json())["status"] == "running":
                time.sleep(0.1)
            assert report["errors"] == 0 and (report["reused_vectors"] > 0) is reused
            (vec,) = [o for o in lines(export(c, vectors="true")) if o["object"] == "vector" and o.get("memory_id") == "img-1"]
            assert (vec["vector"][0] == 1.0 and not any(vec["vector"][1:])) is reused


def test_export_errors_come_before_the_first_byte_as_json(empty):
    with empty.client("ic_errors") as c:
        r = c.get("/v1/export", params={"format": "nope"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
        r = c.get("/v1/export", params={"cube": "kb-01M887AY4YGXE2QS4FFZ6M2SD2"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        schema = ok(c.get("/v1/interchange/schema")).json()
        assert schema["$defs"]["Manifest"]["properties"]["parts"]


def test_the_old_parquet_export_of_mixed_tool_results_is_whole(source):
    """Issue 15: a cube whose tool results mix strings and objects answered 200 with a cut body."""
    cube = "agent-" + SOURCE
    r = ok(source.get(f"/v1/cubes/{cube}/export", params={"format": "parquet"}))
    table = pq.read_table(io.BytesIO(r.content))
    memories = source.get("/v1/memories", params={"status": "all", "limit": 500}).json()["items"]
    assert table.num_rows == len(memories)
    tools = [orjson.loads(t) for t in table.column("tool").to_pylist() if t is not None]
    assert {type(t.get("result")) for t in tools} >= {str, dict}


def test_the_old_jsonl_export_with_world_facts_imports_keeping_tool_and_validity(empty, source):
    """Issue 15: the online import of our own JSON lines export failed on `kind: fact`; the offline
    one dropped `tool` and `valid_from` and widened every row's metadata with the others' keys."""
    cube = "agent-" + SOURCE
    old = ok(source.get(f"/v1/cubes/{cube}/export")).content
    rows = {r["id"]: r for r in lines(old)}
    with empty.client("ic_old", timeout=120) as c:
        assert counts(run_import(c, old, "old.jsonl"))["errors"] == 0
        for memory_id, row in rows.items():
            got = ok(c.get(f"/v1/memories/{memory_id}")).json()
            for key in ("tier", "kind", "content", "metadata", "tool", "valid_from", "valid_to", "status", "version"):
                assert got[key] == row[key], (memory_id, key)


def test_new_ids_import_a_bundle_beside_itself_with_every_reference_renamed(empty, bundle):
    with empty.client("ic_new_ids", timeout=120) as c:
        run_import(c, bundle)
        report = run_import(c, bundle, on_conflict="new-ids")
        assert counts(report) == {"added": len(lines(bundle)) - 2, "updated": 0, "skipped": 0, "errors": 0}
        objects = lines(export(c))
        memories = [o for o in objects if o["object"] == "memory"]
        originals = {o["id"] for o in lines(bundle) if o["object"] == "memory"}
        copies = {m["id"] for m in memories} - originals
        assert len(copies) == len(originals) and all(i.rsplit(".", 1)[0] in originals for i in copies)
        salt = next(iter(copies)).rsplit(".", 1)[1]
        for m in memories:
            if m["id"] in copies and m.get("episode"):
                assert m["episode"].endswith("." + salt)  # each copy names the copied episode
        copied_links = [o for o in objects if o["object"] == "link" and o["from"] in copies]
        assert copied_links and all(link["to"].endswith("." + salt) for link in copied_links)
        episode = next(o for o in objects if o["object"] == "episode" and o["id"].endswith("." + salt)
                       and o.get("closed_at"))
        summary_id = ok(c.get(f"/v1/episodes/{episode['id']}")).json()["summary_id"]
        assert ok(c.get(f"/v1/memories/{summary_id}")).json()["episode"] == episode["id"]
