"""`memos reindex`: rebuild the search indexes from the SQLite files, with progress."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import Progress

from api.cli.output import JsonOpt, client, emit, errors_as_exit, plain, settings

if TYPE_CHECKING:
    from memos_client import Memos
    from memos_client.models import Job


def reindex(
    reembed: bool = typer.Option(False, help="Recompute vectors made by another model first."),
    everything: bool = typer.Option(False, "--all", help="With --reembed: recompute every vector."),
    offline: bool = typer.Option(False, help="Work on MEMOS_DATA_DIR directly (the server must be stopped)."),
    as_json: bool = JsonOpt,
) -> None:
    """Rebuild the Lance and tantivy shards from the SQLite files (a Ray job).

    Example: memos reindex            (asks the running server)
             memos reindex --offline  (server stopped; starts a local Ray)
             memos reindex --offline --reembed --all --json  (a Ray Data job; prints its report)
    """
    if offline:
        emit(_offline(reembed, everything), as_json, lambda t: f"reindexed {t['cubes']} cube(s): {t}")
        return
    with errors_as_exit(), client() as c:
        started = c.reindex(reembed=reembed, everything=everything)
        job = plain(_follow(c, started.job_id))
    if job["status"] == "failed":
        typer.echo(f"error: reindex failed: {job['errors']}", err=True)
        raise typer.Exit(1)
    emit(job, as_json, lambda j: f"reindex {j['id']} {j['status']}: {j['done']}/{j['total']} shard(s)")


def _follow(c: Memos, job_id: str) -> Job:
    with Progress(transient=True) as bar:
        task = bar.add_task("reindexing shards", total=None)
        while True:
            job = c.job(job_id)
            bar.update(task, total=job.total, completed=job.done + job.failed)
            if job.status in ("done", "failed"):
                return job
            time.sleep(0.25)


def _offline(reembed: bool, everything: bool) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from actors import cluster
    from pipeline.encoder import model_spec
    from service.reindex import reembed_pool, run_reindex
    from storage.paths import DataPaths
    from storage.registry import Registry

    with errors_as_exit():
        s = settings()
        paths = DataPaths(s.data_dir)
        registry = Registry(paths.registry_db, s.n_shards)
        shards = registry.shards()
        cluster.connect(s)
        try:
            writers = cluster.spawn_writers(s, shards, model_spec(s.embed_model).dim)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            # Progress goes to stderr (rich's default console is stdout, where --json prints).
            with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
                rows = bar.add_task("re-embedding rows", total=None, visible=reembed)
                done = bar.add_task("rebuilding shards", total=len(shards))
                report = run_reindex(paths, registry, writers, reembed_pool(s), reembed=reembed,
                                     everything=everything, progress=lambda shard, cubes: bar.advance(done),
                                     on_rows=lambda n: bar.advance(rows, n), reembedded=cluster.reset_dedupe)
            return report.to_json()
        finally:
            cluster.shutdown()
