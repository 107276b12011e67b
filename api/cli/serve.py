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
    import uvicorn

    from api.app import create_app
    from api.http_protocol import JsonErrorHttpTools
    from api.json_logs import configure

    with errors_as_exit():
        s = settings(host=host, port=port, data_dir=data_dir, ray_address=ray_address)
    configure(log_level, access_log=s.access_log)  # JSON lines on stderr; ours is the access log
    uvicorn.run(
        create_app(s),
        host=s.host,
        port=s.port,
        log_level=log_level,
        log_config=None,  # uvicorn's loggers propagate to the JSON handler above
        loop="uvloop",
        http=JsonErrorHttpTools,  # httptools, answering what it cannot parse in the API's JSON error shape
        access_log=False,
        timeout_graceful_shutdown=10,
    )
