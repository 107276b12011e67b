"""Lifecycle and governance: /v1/cleanup, /v1/cubes/{id}/retention, /v1/cubes/{id}/report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from api.deps import CallerDep, RuntimeDep
from api.json_route import JsonRoute
from api.lifecycle_schemas import CleanupIn, CleanupOut, GovernanceReportOut, RetentionRuleIn, RetentionRuleOut, RetentionRules
from api.schemas import CALLER_ERRORS, CUBE_ID_PATTERN, error_responses
from pipeline.lifecycle import Action, CleanupAction, CleanupFilter
from pipeline.timefmt import to_ms
from service.retention import RULE_ID, rule_from

router = APIRouter(prefix="/v1", tags=["governance"], route_class=JsonRoute,
                   responses=error_responses(*CALLER_ERRORS, 403, 404))
CubeIdPath = Annotated[str, Path(json_schema_extra={"pattern": CUBE_ID_PATTERN})]
RuleIdPath = Annotated[str, Path(json_schema_extra={"pattern": f"^{RULE_ID.pattern}$"})]


def cleanup_filter(body: CleanupIn) -> CleanupFilter:
    f = body.filter
    return CleanupFilter(
        cube=f.cube, tier=f.tier, kind=f.kind.value if f.kind else None, tags=tuple(f.tags), status=f.status,
        before=to_ms(f.before) if f.before is not None else None, after=to_ms(f.after) if f.after is not None else None,
        duplicates=f.duplicates, superseded=f.superseded, feedback_at_most=f.feedback_at_most,
        never_retrieved=f.never_retrieved, query=f.query,
    )


@router.post("/cleanup", response_model=CleanupOut, responses={202: {"model": CleanupOut}})
async def cleanup(body: CleanupIn, rt: RuntimeDep, caller: CallerDep) -> JSONResponse:
    """One action on every memory of a cube the filter selects. `dry_run: true` changes nothing;
    a run larger than `cleanup_wait_max` answers 202 with its `job_id`."""
    out = await rt.cleanup.run(caller, cleanup_filter(body), CleanupAction(Action(body.action), body.tag, body.to),
                               body.dry_run)
    return JSONResponse(out, status_code=202 if out["status"] == "queued" else 200)


@router.get("/cubes/{cube_id}/retention", response_model=RetentionRules)
def list_rules(cube_id: CubeIdPath, rt: RuntimeDep, caller: CallerDep) -> dict:
    return rt.retention.list(caller, cube_id)


@router.put("/cubes/{cube_id}/retention/{rule_id}", response_model=RetentionRuleOut, responses=error_responses(413))
def put_rule(cube_id: CubeIdPath, rule_id: RuleIdPath, body: RetentionRuleIn, rt: RuntimeDep,
             caller: CallerDep) -> dict:
    """Create or replace a retention rule (admin on the cube); the sweeper applies it."""
    values = body.model_dump()
    values["kind"] = body.kind.value if body.kind else None
    return rt.retention.put(caller, cube_id, rule_from(rule_id, values))


@router.delete("/cubes/{cube_id}/retention/{rule_id}", status_code=204)
def delete_rule(cube_id: CubeIdPath, rule_id: RuleIdPath, rt: RuntimeDep, caller: CallerDep) -> Response:
    rt.retention.delete(caller, cube_id, rule_id)
    return Response(status_code=204)


@router.get("/cubes/{cube_id}/report", response_model=GovernanceReportOut)
def report(cube_id: CubeIdPath, rt: RuntimeDep, caller: CallerDep) -> dict:
    """Counts by tier, kind, status, tag and age; duplicates, superseded facts, never retrieved; size; the oldest."""
    return rt.governance.report(caller, cube_id)
