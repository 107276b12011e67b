"""The optional LLM: an OpenAI-compatible endpoint, stood up for real on loopback, adds the facts
the rules miss; when it fails, the rules' facts still land."""

from __future__ import annotations

import json
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.server_process import free_port, start_server


class ChatServer:
    """A chat-completions endpoint that answers with the facts a test queued, or fails on demand."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail = False
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            if self.fail:
                return JSONResponse({"error": "overloaded"}, status_code=503)
            lines = body["messages"][-1]["content"].splitlines()
            facts = [{"line": i, "subject": "Dana", "predicate": "likes", "object": "teal", "polarity": True,
                      "confidence": 0.8} for i, line in enumerate(lines, 1) if "teal" in line]
            answer = json.dumps({"facts": facts})
            return JSONResponse({"choices": [{"message": {"role": "assistant", "content": answer}}]})

        self.port = free_port()
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "ChatServer":
        self._thread.start()
        while not self._server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@pytest.fixture(scope="module")
def llm_and_memos(tmp_path_factory):
    with ChatServer() as chat:
        memos = start_server(tmp_path_factory.mktemp("llm") / "data",
                             llm_url=f"http://127.0.0.1:{chat.port}/v1", llm_model="fake-extractor")
        try:
            yield chat, memos
        finally:
            memos.stop()


def world(client) -> dict[str, dict]:
    return {m["content"]: m for m in client.get("/v1/memories", params={"tier": "world"}).json()["items"]}


def test_the_llm_adds_a_fact_the_rules_miss(llm_and_memos):
    chat, memos = llm_and_memos
    with memos.client("dana") as c:
        c.post("/v1/memories?wait=true", json={"content": "Honestly, teal has always been the one colour for me.",
                                               "kind": "message", "metadata": {"speaker": "Dana"}})
        facts = world(c)
    assert facts["Dana likes teal."]["metadata"]["rule"] == "llm"
    request = chat.requests[-1]
    assert request["model"] == "fake-extractor" and "Dana: Honestly, teal" in request["messages"][-1]["content"]


def test_when_the_llm_fails_the_rules_still_extract(llm_and_memos):
    chat, memos = llm_and_memos
    chat.fail = True
    try:
        with memos.client("erin") as c:
            r = c.post("/v1/memories?wait=true", json={"content": "I live in Lisbon.", "kind": "message",
                                                       "metadata": {"speaker": "Erin"}})
            assert r.status_code == 201
            assert world(c)["Erin lives in Lisbon."]["metadata"]["rule"] != "llm"
    finally:
        chat.fail = False
