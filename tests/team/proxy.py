"""A reverse proxy on loopback between a member and its hub, to do what a network can do: pass
requests on, change an answer in transit, or cut a connection in the middle of an answer.

`mode` is read per request: "pass", "tamper" (rewrite a skill feed's bundles with `rewrite`), or
"cut" (send half of the next cube page's body, then close the socket). It also keeps the last
member credential it saw, as anyone on the path would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


class HubProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.rewrite: Callable[[dict[str, Any]], None] = lambda page: None
        self.cut_after_pages = 1  # cube pages passed whole before the cut
        self.pages_seen = 0
        self.credential: str | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                auth = self.headers.get("Authorization")
                if auth and "mcr_" in auth:
                    proxy.credential = auth.partition(" ")[2]
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                answer = httpx.request(self.command, proxy.upstream + self.path, content=body, headers=headers,
                                       timeout=120)
                data = answer.content
                if proxy.mode == "tamper" and "/skills/feed" in self.path and answer.status_code == 200:
                    page = json.loads(data)
                    proxy.rewrite(page)
                    data = json.dumps(page).encode()
                cut = False
                if "/changes" in self.path and answer.status_code == 200:
                    proxy.pages_seen += 1
                    cut = proxy.mode == "cut" and proxy.pages_seen > proxy.cut_after_pages
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if cut:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
