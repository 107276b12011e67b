"""Request pieces both mem0 route sets share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict

EntityQuery = Annotated[str | None, Query(max_length=200)]


class Loose(BaseModel):
    """mem0 clients send fields MemOS has no use for (prompt, memory_type, explain…): accepted, unused."""

    model_config = ConfigDict(extra="ignore")


class Message(Loose):
    role: str
    content: str
