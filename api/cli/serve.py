"""`memos serve`: run the server (local Ray unless --ray-address names a cluster)."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.output import errors_as_exit, settings
from pipeline.errors import Invalid


def serve(
    host: str = typer.Option(None, help="Bind address (MEMOS_HOST)."),
    port: int = typer.Option(None, help="Port (MEMOS_PORT)."),
    data_dir: Path = typer.Option(None, help="Data directory (MEMOS_DATA_DIR)."),
    ray_address: str = typer.Option(None, help="Join this Ray cluster instead of starting one (MEMOS_RAY_ADDRESS)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    hub: bool = typer.Option(None, "--hub", help="Act as a team hub (MEMOS_HUB; docs/team.md)."),
) -> None:
    """Run the MemOS server.

    Example: memos serve --port 8765 --data-dir ./data
    """
    import uvicorn

    from api.app import create_app
    from api.http_protocol import JsonErrorHttpTools
    from api.json_logs import configure

    with errors_as_exit():
        s = settings(host=host, port=port, data_dir=data_dir, ray_address=ray_address, hub=hub)
        if bool(s.tls_cert_file) != bool(s.tls_key_file):
            raise Invalid("TLS needs both tls_cert_file and tls_key_file (MEMOS_TLS_CERT_FILE, MEMOS_TLS_KEY_FILE)")
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
        ssl_certfile=s.tls_cert_file or None,  # HTTPS directly; or a reverse proxy in front (docs/team.md#tls)
        ssl_keyfile=s.tls_key_file or None,
    )
