"""The baseline the accept path is compared with: bare FastAPI + uvicorn, one apsw insert per request.

    python -m benchmarks.bare_server --port 9100 --db /tmp/bare.db

WAL mode, synchronous=FULL (the same durability promise as MemOS's intake log), one small
pydantic body model, the same uvicorn settings as `memos serve` (uvloop, httptools, one worker,
no access log).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import apsw
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class Body(BaseModel):
    content: str
    kind: str = "note"
    tags: list[str] = []


def create_app(db: Path) -> FastAPI:
    conn = apsw.Connection(str(db))
    conn.pragma("journal_mode", "wal")
    conn.pragma("synchronous", "FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, content TEXT, kind TEXT, at INTEGER)")
    app = FastAPI()

    @app.post("/v1/memories", status_code=202)
    async def write(body: Body) -> dict:
        with conn:
            conn.execute("INSERT INTO writes(content, kind, at) VALUES (?, ?, ?)",
                         (body.content, body.kind, int(time.time() * 1000)))
        return {"id": conn.last_insert_rowid(), "status": "queued"}

    @app.get("/v1/health")
    async def health() -> dict:
        return {"status": "ok"}

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", type=Path, required=True)
    args = ap.parse_args()
    uvicorn.run(create_app(args.db), host="127.0.0.1", port=args.port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
