"""/v1/search: hybrid BM25 + vector retrieval over the caller's memories."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, RuntimeDep
from api.schemas import ErrorOut, SearchIn, SearchOut
from pipeline.filters import SearchFilter
from pipeline.ranking import RankingConfig
from service.search import SearchRequest

router = APIRouter(
    prefix="/v1", tags=["search"],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("/search", response_model=SearchOut)
def search(body: SearchIn, rt: RuntimeDep, caller: CallerDep) -> dict:
    filt = SearchFilter(
        kinds=frozenset(k.value for k in body.kinds) if body.kinds else None,
        tags=frozenset(body.tags) if body.tags else None,
        tiers=frozenset(body.tiers) if body.tiers else None,
    )
    ranking = None
    if body.ranking is not None and body.ranking.channels:
        ranking = RankingConfig(channels=tuple(dict.fromkeys(body.ranking.channels)), rrf_k=rt.settings.rrf_k)
    cubes = tuple(body.cubes) if body.cubes else None
    return rt.search.search(caller, SearchRequest(body.query, body.top_k, filt, body.collapse, ranking, cubes))
