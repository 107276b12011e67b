"""A shared skill as a signed bundle: the skill with every version, in the interchange format.

The bundle holds the skill's memory object (its current version; its metadata is the whole skill:
steps, parameter schema, success statistics), its vector, every earlier version as a
`skill_version` object, the publisher's own run counts and a provenance summary. The example
episodes' traces ride along only when the publisher asks (`traces`). The publisher signs the
canonical form of the bundle (pipeline/team/signing.py); whoever stores or imports it checks that
signature first, and its shape here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.errors import Invalid
from pipeline.team.signing import SERVER_ID
from pipeline.team.stats import RunCounts

FORMAT = "memos-skill-bundle"
VERSION = "1.0"
_OBJECTS_MAX = 10_000


def skill_bundle(team: str, publisher: Mapping[str, str], skill_memory: dict[str, Any], vector: dict[str, Any] | None,
                 versions: Sequence[dict[str, Any]], own: RunCounts, published_at: str,
                 traces: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The bundle of one skill at its current version (`skill_memory` is its interchange memory object)."""
    skill = skill_memory["metadata"]
    objects = [skill_memory, *([vector] if vector is not None else []), *versions, *traces]
    return {
        "format": FORMAT, "version": VERSION, "team": team, "skill_id": skill_memory["id"],
        "skill_version": int(skill_memory["version"]), "name": str(skill.get("name") or ""),
        "publisher": {"member": publisher["member"], "name": publisher.get("name", ""),
                      "public_key": publisher["public_key"]},
        "published_at": published_at, "stats": own.to_dict(),
        "provenance": {
            "agent": skill_memory.get("agent"), "examples": len(skill.get("examples") or []),
            "failures": len(skill.get("failures") or []), "example_tasks": list(skill.get("example_tasks") or [])[:5],
            "source_count": len(skill_memory.get("source_ids") or []),
            "created_at": skill_memory["temporal"]["created_at"],
            "updated_at": skill_memory["temporal"].get("updated_at"), "traces_included": bool(traces),
        },
        "objects": objects,
    }


def check_bundle(bundle: Any) -> dict[str, Any]:
    """The bundle if its shape is right; Invalid naming the first problem otherwise."""
    if not isinstance(bundle, dict):
        raise Invalid("a skill bundle is a JSON object")
    if bundle.get("format") != FORMAT:
        raise Invalid(f"bundle format must be {FORMAT!r}")
    if not str(bundle.get("version", "")).startswith("1."):
        raise Invalid(f"bundle version {str(bundle.get('version'))[:10]!r} is not 1.x")
    publisher = bundle.get("publisher")
    if not isinstance(publisher, dict) or not SERVER_ID.fullmatch(str(publisher.get("member", ""))) \
            or not isinstance(publisher.get("public_key"), str):
        raise Invalid("bundle publisher must name a member id (srv-...) and its public key")
    objects = bundle.get("objects")
    if not isinstance(objects, list) or not objects or len(objects) > _OBJECTS_MAX:
        raise Invalid(f"bundle objects must be a list of 1 to {_OBJECTS_MAX} objects")
    head = objects[0]
    if not isinstance(head, dict) or head.get("object") != "memory" or head.get("tier") != "skill":
        raise Invalid("a bundle's first object is the skill's memory object")
    if head.get("id") != bundle.get("skill_id") or head.get("version") != bundle.get("skill_version"):
        raise Invalid("the bundle's skill_id and skill_version must be its skill memory's id and version")
    skill = head.get("metadata")
    if not isinstance(skill, dict) or not isinstance(skill.get("steps"), list) \
            or not isinstance(skill.get("parameters"), dict):
        raise Invalid("the skill memory's metadata must hold its steps and parameter schema")
    stats = bundle.get("stats")
    if not isinstance(stats, dict) or not all(isinstance(stats.get(k), int) and stats[k] >= 0
                                              for k in ("runs", "successes")):
        raise Invalid("bundle stats must hold runs and successes, counts of 0 or more")
    if not isinstance(bundle.get("team"), str):
        raise Invalid("bundle team must be a team name")
    return bundle


def pulled_objects(bundle: Mapping[str, Any], totals: RunCounts, team: str) -> list[dict[str, Any]]:
    """The bundle's objects as a member imports them: the skill carries the team's merged run counts,
    recorded as its baseline (so the member later reports only its own runs), and where it came from."""
    objects = copy.deepcopy(list(bundle["objects"]))
    head = objects[0]
    skill = head["metadata"]
    skill["runs"], skill["successes"] = totals.runs, totals.successes
    skill["success_rate"] = round(totals.successes / totals.runs, 4) if totals.runs else skill.get("success_rate", 0.0)
    skill["team"] = {"name": team, "publisher": bundle["publisher"]["member"], "baseline": totals.to_dict(),
                     "version": bundle["skill_version"]}
    head["provenance"] = {"platform": "memos", "team": team, "publisher": bundle["publisher"]["member"]}
    return objects
