"""Identifier rules: generation of time-sortable ids and validation of every id a client sends."""

from __future__ import annotations

import os
import re
import time

from pipeline.errors import InvalidAgent, NotFound

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

AGENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MEMORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
# Cube ids reach file names, so the pattern is the whole of what may appear there.
CUBE_ID = re.compile(r"agent-[A-Za-z0-9_-]{1,64}|kb-[0-9A-HJKMNP-TV-Z]{26}")
JOB_ID = re.compile(r"job-[0-9A-HJKMNP-TV-Z]{26}")


def new_ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits, Crockford base32."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_memory_id() -> str:
    return new_ulid()


def new_job_id() -> str:
    return f"job-{new_ulid()}"


def check_agent_id(agent: str) -> str:
    if not AGENT_ID.fullmatch(agent):
        raise InvalidAgent(f"agent id {agent[:80]!r} must match [A-Za-z0-9_-]{{1,64}}")
    return agent


def private_cube_id(agent: str) -> str:
    """Every agent owns one private cube; its id is derived from the agent id."""
    return f"agent-{check_agent_id(agent)}"


def is_memory_id(value: str) -> bool:
    return MEMORY_ID.fullmatch(value) is not None


def is_cube_id(value: str) -> bool:
    return CUBE_ID.fullmatch(value) is not None


def check_job_id(value: str) -> str:
    if not JOB_ID.fullmatch(value):
        raise NotFound(f"job {value[:80]!r} does not exist")
    return value
