"""The world-model extract stage as a Ray actor: holds the spaCy pipeline (and, when configured,
a client of an OpenAI-compatible endpoint) and adds fact rows after the traces that state facts."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import httpx
import pyarrow as pa

from actors.stage_timing import timed
from pipeline.encoder import TokenCounter
from pipeline.llm_facts import build_messages, merge, parse_answer
from pipeline.world_facts.extract import extract_facts, load_fact_extractor
from pipeline.world_facts.fact import TraceText, WorldFact
from pipeline.world_stage import extract_batch

log = logging.getLogger(__name__)


class LlmClient:
    """Chat completions on an OpenAI-compatible endpoint; any failure means "no extra facts"."""

    def __init__(self, url: str, model: str, api_key: str, timeout_s: float) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)
        self._model = model

    def facts(self, traces: Sequence[TraceText]) -> list[list[WorldFact]]:
        try:
            r = self._http.post("/chat/completions", json={
                "model": self._model, "messages": build_messages(traces), "temperature": 0,
                "response_format": {"type": "json_object"},
            })
            r.raise_for_status()
            return parse_answer(r.json()["choices"][0]["message"]["content"], traces)
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning("LLM fact extraction failed (%s); using the rules alone", exc)
            return [[] for _ in traces]


class ExtractStage:
    def __init__(self, model: str, enabled: bool, llm_url: str, llm_model: str, llm_api_key: str, nice: int,
                 skip_roles: Sequence[str]) -> None:
        if nice:
            os.nice(nice)  # like the embedder: fact extraction is catch-up work, accepting writes comes first
        self._count = TokenCounter(model)
        self._nlp = load_fact_extractor() if enabled else None
        self._llm = LlmClient(llm_url, llm_model, llm_api_key, 30.0) if enabled and llm_url else None
        self._skip_roles = frozenset(r.strip().casefold() for r in skip_roles)

    def ready(self) -> bool:
        return True

    def extract(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._nlp is None:
            return timed("extract", batch, lambda b: b)
        return timed("extract", batch, lambda b: extract_batch(b, self._facts, self._count, self._skip_roles))

    def _facts(self, traces: Sequence[TraceText]) -> list[list[WorldFact]]:
        found = extract_facts(self._nlp, traces)
        if self._llm is None:
            return found
        return [merge(rule, llm) for rule, llm in zip(found, self._llm.facts(traces))]
