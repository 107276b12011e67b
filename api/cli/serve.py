"""`memos serve`: run the server (local Ray unless --ray-address names a cluster)."""

from __future__ import annotations

import socket
from pathlib import Path

import typer

from api.cli.output import errors_as_exit, settings
from pipeline.errors import Conflict, Invalid


def claim_port(host: str, port: int) -> socket.socket:
    """Bind the listening address before anything starts.

    The runtime starts Ray (a dozen processes, each binding ports of its own) before uvicorn would
    bind: a port taken meanwhile failed the start half a minute in, and a port already in use was
    found only then. Bound first, it is ours from the start and a conflict is one line at once.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Conflict(f"cannot listen on {host}:{port}: {exc.strerror} (MEMOS_HOST, MEMOS_PORT)") from None
    return sock  # not inheritable: a Ray process outliving the server must not hold its port


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
        sock = claim_port(s.host, s.port)
    configure(log_level, access_log=s.access_log)  # JSON lines on stderr; ours is the access log
    config = uvicorn.Config(
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
    uvicorn.Server(config).run(sockets=[sock])
