"""`memos import FILE`: bring memories from a file (our export, or any table with `content`) into a cube."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from api.cli.output import AgentOpt, CubeOpt, JsonOpt, client, emit, errors_as_exit, settings

BATCH = 1_000


def import_file(
    path: Path = typer.Argument(..., help="A .jsonl (our export) or .parquet file; at least a `content` column."),
    cube: str = CubeOpt,
    offline: bool = typer.Option(False, help="Server stopped: write MEMOS_DATA_DIR directly with a local Ray job."),
    near_duplicates: bool = typer.Option(False, help="Offline: also link near duplicates (slower on big files)."),
    agent: str = AgentOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import memories. Online, rows go through the server's write path in batches of 1,000;
    offline, a local Ray job runs them through the same stages (world facts included) straight
    into the cube, keeping any `vector` column instead of re-embedding those rows.

    Example: memos import runbooks.parquet --cube kb-01M887AY4YGXE2QS4FFZ6M2SD2
             memos import corpus.parquet --offline --agent alice
    """
    run = _offline if offline else _online
    emit(run(path, cube, agent, near_duplicates), as_json,
         lambda t: f"imported {t['imported']} of {t['read']} rows ({t['skipped']} skipped)")


def _online(path: Path, cube: str | None, agent: str | None, _near: bool) -> dict:
    from pipeline.import_rows import BadRow, check_row
    from service.importer import read_chunks

    totals = {"read": 0, "imported": 0, "skipped": 0, "skipped_examples": []}
    with errors_as_exit(), client(agent) as c, Progress(transient=True) as bar:
        task = bar.add_task(f"importing {path.name}", total=None)
        for chunk in read_chunks(path, BATCH):
            items = []
            for row in chunk.to_pylist():
                totals["read"] += 1
                try:
                    checked = check_row(row)  # the server applies its own content limit
                except BadRow as exc:
                    totals["skipped"] += 1
                    totals["skipped_examples"] = (totals["skipped_examples"] + [f"row {totals['read']}: {exc}"])[:20]
                    continue
                item = {"id": checked.id, "content": checked.content, "kind": checked.kind, "tags": checked.tags,
                        "metadata": checked.metadata, "source_ids": checked.source_ids}
                if checked.created_at is not None:
                    item["created_at"] = _iso(checked.created_at)
                items.append(item)
            if items:
                _, out = c.call("POST", "/v1/memories/batch", json={"items": items, "cube": cube})
                totals["imported"] += sum(1 for i in out["items"] if i["status"] in ("queued", "exists"))
            bar.update(task, completed=totals["read"])
    return totals


def _iso(ms: int) -> str:
    from pipeline.timefmt import to_iso

    return to_iso(ms)


def _offline(path: Path, cube_id: str | None, agent: str | None, near: bool) -> dict:
    from actors import cluster
    from actors.stage_chain import StageChain
    from pipeline.access import Caller, Role
    from pipeline.encoder import model_spec
    from service.access import Access
    from service.importer import import_file as run_import
    from storage.paths import DataPaths
    from storage.registry import Registry

    with errors_as_exit():
        s = settings()
        paths = DataPaths(s.data_dir)
        paths.ensure()
        registry = Registry(paths.registry_db, s.n_shards)
        who = Caller(agent or s.agent)
        cube = Access(registry).require(who, cube_id, Role.WRITE)
        cluster.connect(s)
        try:
            actors = cluster.spawn(s, registry.shards(), model_spec(s.embed_model).dim)
            with Progress(transient=True) as bar:
                task = bar.add_task(f"importing {path.name} into {cube.id}", total=None)
                totals = run_import(path, cube, who.agent, StageChain(actors), model_spec(s.embed_model).dim,
                                    max_chars=s.max_content_chars, near_duplicates=near,
                                    progress=lambda n: bar.update(task, completed=n))
        finally:
            cluster.shutdown()
    return {**totals.view(), "cube": cube.id}
