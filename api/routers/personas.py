"""/v1/personas: an agent's personas (name, role, traits, preferences, style), versioned, one active
per agent in a cube; what they state feeds the world model (service/personas.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictBool, StringConstraints

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import AGENT_ID_PATTERN, CALLER_ERRORS, CUBE_ID_PATTERN, Strict, error_responses
from pipeline.persona import MAX_ITEMS, PERSONA_ID
from service.personas import PersonaSpec

router = APIRouter(
    prefix="/v1/personas", tags=["personas"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 404),
)
CubeQuery = Annotated[str | None, Query(pattern=CUBE_ID_PATTERN)]
PersonaIdPath = Annotated[str, Path(pattern=f"^{PERSONA_ID.pattern}$")]
_TEXT = r"^[^\x00-\x1f\x7f]*$"
_NAME = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"  # something besides spaces
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_NAME)]
Text = Annotated[str, StringConstraints(max_length=200, pattern=_TEXT)]


class PersonaIn(Strict):
    name: Name
    role: Text = ""
    traits: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)
    preferences: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)
    style: Text = ""
    active: StrictBool = Field(True, description="Make it the agent's active persona in the cube (its others go inactive).")


class PersonaVersion(BaseModel):
    version: int | None
    name: str | None
    role: str | None
    traits: list[str]
    preferences: list[str]
    style: str | None
    updated_at: str


class PersonaOut(BaseModel):
    id: str
    cube: str
    agent: str
    name: str
    role: str
    traits: list[str]
    preferences: list[str]
    style: str
    active: bool
    version: int
    updated_at: str
    memory_id: str = Field(description="The memory that holds this version (kind `persona`).")
    statements: list[str] = Field(description="The sentences the world model reads facts from.")
    history: list[PersonaVersion] = Field(description="Earlier versions, oldest first.")
    status: str = Field(description="`done`, or `queued` while the version is still being written.")


class PersonaList(BaseModel):
    cube: str
    personas: list[PersonaOut]


@router.get("", response_model=PersonaList)
def list_personas(
    rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None,
    agent: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN)] = None,
) -> dict:
    """Every persona in your cube (or in `cube`), newest first; `agent` keeps one agent's."""
    return rt.personas.list(caller, cube, agent)


@router.get("/{persona_id}", response_model=PersonaOut)
def get_persona(persona_id: PersonaIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None) -> dict:
    return rt.personas.get(caller, persona_id, cube)


@router.put("/{persona_id}", response_model=PersonaOut, responses=error_responses(403, 409, 413))
async def put_persona(
    persona_id: PersonaIdPath, body: PersonaIn, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None,
) -> dict:
    """Create the persona, or store a new version when what it states changed (the same record again
    changes nothing). Its statements are written as a `persona` memory, so world facts are read from them."""
    spec = PersonaSpec(body.name, body.role, tuple(body.traits), tuple(body.preferences), body.style, body.active)
    return await rt.personas.put(caller, persona_id, spec, cube)


@router.delete("/{persona_id}", status_code=204, responses=error_responses(403, 409))
async def delete_persona(
    persona_id: PersonaIdPath, rt: RuntimeDep, caller: CallerDep, cube: CubeQuery = None,
) -> Response:
    """Delete the persona; its memory and the facts read from it go too (and are purged)."""
    await rt.personas.delete(caller, persona_id, cube)
    return Response(status_code=204)
