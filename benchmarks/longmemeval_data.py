"""LongMemEval reader: each question with its own haystack of chat sessions, evidence sessions and
evidence turns (`has_answer`).

The data stays in ../shared/data (MIT); nothing is copied into the repo. Schema: ../shared/data/README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_PATH = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "longmemeval"
                / "longmemeval_s_sample60.json")


@dataclass(frozen=True)
class Turn:
    id: str  # "<session id>:<index in the session>"
    session: str
    role: str
    text: str
    time: datetime | None  # the session's date (LongMemEval gives no time per turn)
    evidence: bool  # has_answer


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    question: str
    answer: str
    date: datetime | None
    turns: tuple[Turn, ...]  # the haystack, sessions in the order given
    evidence_sessions: tuple[str, ...]
    evidence_turns: tuple[str, ...]

    @property
    def abstention(self) -> bool:
        """`_abs` questions have no evidence; the paper leaves them out of retrieval scores."""
        return self.id.endswith("_abs")


def parse_date(value: str) -> datetime | None:
    """LongMemEval writes '2023/05/20 (Sat) 02:21', with no zone; the server takes zoned times, so UTC."""
    try:
        return datetime.strptime(value.strip(), "%Y/%m/%d (%a) %H:%M").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def turn_id(session: str, index: int) -> str:
    return f"{session}:{index}"


def read_question(raw: dict) -> Question:
    turns: list[Turn] = []
    for session, date, chat in zip(raw["haystack_session_ids"], raw["haystack_dates"], raw["haystack_sessions"]):
        when = parse_date(date)
        for j, t in enumerate(chat):
            turns.append(Turn(turn_id(session, j), session, str(t.get("role", "user")), str(t.get("content", "")),
                              when, bool(t.get("has_answer"))))
    return Question(
        id=str(raw["question_id"]), type=str(raw["question_type"]), question=str(raw["question"]),
        answer=str(raw.get("answer", "")), date=parse_date(str(raw.get("question_date", ""))), turns=tuple(turns),
        evidence_sessions=tuple(dict.fromkeys(raw.get("answer_session_ids") or [])),
        evidence_turns=tuple(t.id for t in turns if t.evidence),
    )


def load(path: Path = DEFAULT_PATH) -> list[Question]:
    return [read_question(raw) for raw in json.loads(Path(path).read_text())]
