"""LoCoMo reader: conversations, turns (with session times and image captions) and questions.

The data stays in ../shared/data (CC BY-NC 4.0, evaluation only); nothing is copied into the repo.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo" / "locomo10.json"
_DIA = re.compile(r"D(\d+):(\d+)")


@dataclass(frozen=True)
class Turn:
    conversation: str
    dia_id: str
    speaker: str
    text: str
    session: int
    session_time: datetime | None
    caption: str | None


@dataclass(frozen=True)
class Question:
    conversation: str
    question: str
    answer: str
    category: int
    evidence: tuple[str, ...]


def parse_session_time(value: str) -> datetime | None:
    """LoCoMo writes '1:56 pm on 8 May, 2023', with no zone; the server takes only zoned times, so UTC."""
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def normalize_evidence(raw: list) -> tuple[str, ...]:
    """Evidence ids as 'D<session>:<turn>'; malformed ones ('D8:6; D9:17', 'D:11:26', 'D30:05') are repaired."""
    out: list[str] = []
    for item in raw:
        for session, turn in _DIA.findall(str(item).replace("D:", "D")):
            out.append(f"D{int(session)}:{int(turn)}")
    return tuple(dict.fromkeys(out))


def load(path: Path = DEFAULT_PATH) -> tuple[list[Turn], list[Question]]:
    data = json.loads(Path(path).read_text())
    turns: list[Turn] = []
    questions: list[Question] = []
    for conv in data:
        cid = str(conv["sample_id"])
        c = conv["conversation"]
        n = 1
        while f"session_{n}" in c:
            when = parse_session_time(c.get(f"session_{n}_date_time", ""))
            for t in c[f"session_{n}"]:
                turns.append(Turn(cid, t["dia_id"], t["speaker"], t["text"], n, when, t.get("blip_caption")))
            n += 1
        for q in conv.get("qa", []):
            answer = q.get("answer", q.get("adversarial_answer", ""))
            questions.append(Question(cid, q["question"], str(answer), int(q["category"]),
                                      normalize_evidence(q.get("evidence", []))))
    return turns, questions
