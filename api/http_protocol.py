"""uvicorn's HTTP protocol, with the one answer it writes itself in the API's JSON error shape.

A request the HTTP parser cannot read (a `Content-Length` of `1e20` or `-5`, a header line
without a colon) never reaches the app: uvicorn answers it with a plain-text 400 of its own.
This subclass answers it as every other error is answered, `{"error": {"code", "message"}}`
(issue 13). `memos serve` runs uvicorn with it (api/cli/serve.py).
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


def json_400(message: str, extra_headers: bytes = b"") -> bytes:
    """The bytes of a complete HTTP/1.1 400 answer with the JSON error body; the connection closes."""
    body = orjson.dumps({"error": {"code": "malformed_request", "message": message}})
    return b"".join([
        STATUS_LINE[400],
        extra_headers,
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
        b"connection: close\r\n",
        b"\r\n",
        body,
    ])


class JsonErrorHttpTools(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        server_headers = b"".join(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
        self.transport.write(json_400(
            "the request is not valid HTTP/1.1 (for example a Content-Length that is not a number of bytes)",
            server_headers))
        self.transport.close()
