"""/v1/search: hybrid BM25 + vector retrieval over the caller's memories."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import ORJSONResponse

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.schemas import CALLER_ERRORS, SearchIn, SearchOut, error_responses
from pipeline.filters import SearchFilter
from pipeline.ranking.budget import Budget
from pipeline.timefmt import to_ms
from service.hybrid_search import SearchRequest

router = APIRouter(
    prefix="/v1", tags=["search"], route_class=JsonRoute, responses=error_responses(*CALLER_ERRORS, 404, 413),
)


@router.post("/search", response_model=SearchOut)
def search(body: SearchIn, rt: RuntimeDep, caller: CallerDep) -> ORJSONResponse:
    # scope (docs/team.md): `team` and `all` add the team's shared skills as `team_skills`
    found = rt.team.scoped_search(body.scope, body.query, body.top_k,
                                  lambda: rt.search.search(caller, _search_request(body)))
    # The service builds exactly the SearchOut shape (tests check it against the schema); serialising
    # it directly saves the response model's validation pass, a few ms of a 15 ms search.
    return ORJSONResponse(found)


def _search_request(body: SearchIn) -> SearchRequest:
    """The validated body as the search service takes it (nothing here can fail)."""
    return SearchRequest(
        query=body.query,
        top_k=body.top_k,
        filter=SearchFilter(
            kinds=frozenset(k.value for k in body.kinds) if body.kinds else None,
            tags=frozenset(body.tags) if body.tags else None,
            tiers=frozenset(body.tiers) if body.tiers else None,
            since=to_ms(body.since) if body.since else None,
            until=to_ms(body.until) if body.until else None,
        ),
        collapse=body.collapse,
        ranking=body.ranking.model_dump(exclude_none=True) if body.ranking is not None else {},
        cubes=tuple(body.cubes) if body.cubes else None,
        budget=Budget(body.max_memories or body.top_k, body.max_tokens),
    )
