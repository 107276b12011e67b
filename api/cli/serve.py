"""`memos serve`: run the server (local Ray unless --ray-address names a cluster)."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.output import errors_as_exit, settings


def serve(
    host: str = typer.Option(None, help="Bind address (MEMOS_HOST)."),
    port: int = typer.Option(None, help="Port (MEMOS_PORT)."),
    data_dir: Path = typer.Option(None, help="Data directory (MEMOS_DATA_DIR)."),
    ray_address: str = typer.Option(None, help="Join this Ray cluster instead of starting one (MEMOS_RAY_ADDRESS)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Run the MemOS server.

    Example: memos serve --port 8765 --data-dir ./data
    """
    import logging

    import uvicorn

    from api.app import create_app

    with errors_as_exit():
        s = settings(host=host, port=port, data_dir=data_dir, ray_address=ray_address)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(s),
        host=s.host,
        port=s.port,
        log_level=log_level,
        loop="uvloop",
        http="httptools",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
