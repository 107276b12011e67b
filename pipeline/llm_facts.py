"""Optional LLM help for world facts: the prompt an OpenAI-compatible endpoint gets, and reading
its answer back into WorldFacts of our closed predicate set (pure; the HTTP call is elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from pipeline.world_facts.fact import Predicate, TraceText, WorldFact

SYSTEM = (
    "You extract durable facts about people from chat lines. Answer with JSON only: "
    '{"facts": [{"line": <number>, "subject": <name>, "predicate": <one of: '
    + ", ".join(p.value for p in Predicate)
    + '>, "object": <value>, "polarity": true|false, "confidence": 0..1}]}. '
    "First-person statements are about the line's speaker. Skip questions, plans you are unsure of, and small talk."
)


def build_messages(traces: Sequence[TraceText]) -> list[dict[str, str]]:
    lines = "\n".join(f"{i}. {t.speaker or 'user'}: {t.text}" for i, t in enumerate(traces, 1))
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": lines}]


def parse_answer(content: str, traces: Sequence[TraceText]) -> list[list[WorldFact]]:
    """Facts per trace from the model's JSON; anything malformed or outside our predicates is dropped."""
    out: list[list[WorldFact]] = [[] for _ in traces]
    try:
        data = orjson.loads(_json_part(content))
    except orjson.JSONDecodeError:
        return out
    facts = data.get("facts") if isinstance(data, dict) else None
    for item in facts if isinstance(facts, list) else []:
        fact = _fact(item, traces)
        if fact is not None:
            out[int(item["line"]) - 1].append(fact)
    return out


def _json_part(content: str) -> str:
    start, end = content.find("{"), content.rfind("}")
    return content[start : end + 1] if 0 <= start < end else content


def _fact(item: Any, traces: Sequence[TraceText]) -> WorldFact | None:
    if not isinstance(item, dict):
        return None
    try:
        line = int(item["line"])
        predicate = Predicate(str(item["predicate"]))
        subject, obj = str(item["subject"]).strip(), str(item["object"]).strip()
    except (KeyError, ValueError, TypeError):
        return None
    if not (1 <= line <= len(traces)) or not subject or not obj:
        return None
    trace = traces[line - 1]
    confidence = item.get("confidence", 0.7)
    confidence = min(max(float(confidence), 0.0), 0.95) if isinstance(confidence, (int, float)) else 0.7
    return WorldFact(subject, predicate, obj, bool(item.get("polarity", True)), confidence, trace.time_ms,
                     (trace.trace_id,), rule="llm", evidence=trace.text)


def merge(rule_facts: list[WorldFact], llm_facts: list[WorldFact]) -> list[WorldFact]:
    """Rule facts first; an LLM fact adds only what the rules did not already say."""
    seen = {(f.key, f.object_key, f.polarity) for f in rule_facts}
    return rule_facts + [f for f in llm_facts if (f.key, f.object_key, f.polarity) not in seen]
