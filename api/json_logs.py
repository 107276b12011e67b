"""Structured logs for the server process: one JSON object per line, through the stdlib's logging.

`configure` is called once, by `memos serve`; nothing here runs at import. Every line carries the
time, level, logger and message; the id of the request being served, when there is one (the
front door's outer layer sets it, api/request_observer.py, and it follows the request onto the
thread pool); and the fields a caller passes as `extra={"fields": {...}}`. The access lines come
through `AccessLog`, in batches.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections import deque
from contextvars import ContextVar
from typing import Any, TextIO

import orjson

ACCESS_LOGGER = "memos.access"
request_id: ContextVar[str | None] = ContextVar("memos_request_id", default=None)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = (-1, "")  # the formatted second of the last line: most lines share it

    def _timestamp(self, created: float) -> str:
        second = int(created)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{self._second[1]}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        lines = record.__dict__.get("lines")
        if lines is not None:  # a batch of access lines (AccessLog): one JSON line each
            level = record.levelname.lower()
            return "\n".join(orjson.dumps({"ts": self._timestamp(at), "level": level, "logger": record.name,
                                            "msg": "request", **fields}, default=str).decode()
                             for at, fields in lines)
        line: dict[str, object] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            line["request_id"] = rid
        fields = record.__dict__.get("fields")
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class AccessLog:
    """Access lines, one per request, handed to the `memos.access` logger a batch at a time.

    A LogRecord per request, walked through the logging machinery, cost the front door about
    10 µs of CPU a request here, most of what metrics and logs together added to the accept path.
    Now a request appends its fields to a deque, and a thread hands what gathered to the logger
    every `interval_s` as one record whose `lines` the JSON formatter writes as a JSON line each
    (another formatter sees its message, "N requests"). A line keeps the time its request ended
    and is written at most `interval_s` later; what is still queued at exit is written then.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = 0.1) -> None:
        self.logger, self._interval = logger, interval_s
        self._pending: deque[tuple[float, dict[str, Any]]] = deque()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, fields: dict[str, Any]) -> None:
        """Called on the event loop once a request is answered: an append."""
        self._pending.append((time.time(), fields))
        if self._thread is None:
            self._start()

    def flush(self) -> None:
        lines = []
        try:
            while True:
                lines.append(self._pending.popleft())
        except IndexError:
            pass
        if lines:
            self.logger.handle(self.logger.makeRecord(self.logger.name, logging.INFO, __file__, 0, "%d requests",
                                                      (len(lines),), None, extra={"lines": lines}))

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            time.sleep(self._interval)
            self.flush()


def configure(level: str, access_log: bool, stream: TextIO | None = None) -> None:
    """JSON lines on stderr for every logger that propagates to the root (uvicorn's too, when it is
    started with `log_config=None`). The access log writes at info whatever `level` says: it is
    switched by its own setting, `access_log`."""
    # The lines carry no thread or process names: don't gather them for every record (the logging
    # HOWTO's "Optimization"; an access line is written per request).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if access_log else logging.WARNING)
