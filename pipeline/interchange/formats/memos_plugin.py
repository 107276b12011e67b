"""MemTensor MemOS local plugin export bundle (`apps/memos-local-plugin`, `GET /api/v1/export`):
`{version: 1, exportedAt, traces, policies, worldModels, skills}`.

Reading: a trace (one turn) becomes its user message, its tool calls and the agent's reply, in
one episode per `episodeId`; the plugin's scores (value, alpha, rHuman, priority, reflection)
ride in the first trace's `metadata.memos_plugin`. Policies, world models and skills become note
traces holding their whole DTO in metadata (our tiers are derived by the server from what it
stores; a MemOS skill is prose, not the tool steps our SkillBody needs), linked `derived_from`
to the traces and policies they cite. The file is streamed, read twice: once for the episodes'
extent, once for the objects.

Writing: our turns become traces grouped as the plugin groups them (a user message and what
followed it), notes and personas traces of their own, world facts world models, skills skills.
Each DTO also carries our objects whole under `memos`, with `memosEpisodes` and `memosLinks`
beside the arrays the plugin reads; its importer ignores those keys, ours restores from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

import pipeline.interchange.formats.line_objects as lo
from pipeline.interchange.formats.json_stream import JsonStreamError, Member, object_members
from pipeline.interchange.formats.source_files import head, invalid, is_zip
from pipeline.interchange.model import iso, to_ms
from pipeline.timefmt import now_ms

NAME = "memos-plugin"
PLATFORM = "memos-plugin"
ARRAYS = frozenset({"traces", "policies", "worldModels", "skills", "memosEpisodes", "memosLinks"})
_TRACES = re.compile(r'"traces"\s*:\s*\[')
_SIBLINGS = re.compile(r'"(exportedAt|worldModels|policies|skills)"\s*:')
_CONVERSATION_KINDS = {"message", "tool_call", "image"}


def detect(path: Path) -> bool:
    if not path.is_file() or is_zip(path):
        return False
    text = head(path)
    return text.lstrip().startswith("{") and bool(_TRACES.search(text)) and bool(_SIBLINGS.search(text))


# --- reading ------------------------------------------------------------------------------------


def _members(path: Path) -> Iterator[Member]:
    with path.open("rb") as f:
        try:
            for member in object_members(f, ARRAYS):
                if member.key == "version" and member.value not in (None, 1):
                    raise invalid(path.name, f"version: bundle version {member.value!r} is not 1, the one this "
                                             "server reads")
                yield member
        except JsonStreamError as exc:
            raise invalid(path.name, str(exc)) from exc


def _ms(value: Any, fallback: int) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value * 1000) if value < 1e11 else int(value)
    if isinstance(value, str):
        found = lo.time_iso(value)
        if found:
            return to_ms(found)
    return fallback


def _first_record(dto: dict[str, Any]) -> str | None:
    """The id of the first record `_trace` makes of a trace DTO (what a policy citing it links to)."""
    tid = lo.source_id(str(dto["id"]))
    if str(dto.get("userText") or "").strip():
        return f"{tid}-user"
    if dto.get("toolCalls"):
        return f"{tid}-tool-0"
    return f"{tid}-agent" if str(dto.get("agentText") or "").strip() else None


def _episode_extents(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str], set[str]]:
    """Pass one: per episode its first and last time, status and reward; which record each trace
    starts with; and the policy ids."""
    episodes: dict[str, dict[str, Any]] = {}
    traces: dict[str, str] = {}
    policies: set[str] = set()
    for m in _members(path):
        if m.key == "policies" and isinstance(m.value, dict) and m.value.get("id"):
            policies.add(str(m.value["id"]))
        if m.key != "traces" or not isinstance(m.value, dict) or "memos" in m.value:
            continue
        dto = m.value
        if not dto.get("id") or not dto.get("episodeId"):
            continue
        first = _first_record(dto)
        if first is not None:
            traces[str(dto["id"])] = first
        ts = _ms(dto.get("ts"), 0)
        ep = episodes.setdefault(str(dto["episodeId"]), {"first": ts, "last": ts, "task": "", "closed": False,
                                                          "reward": None})
        if ts <= ep["first"]:
            ep["first"] = ts
            ep["task"] = str(dto.get("userText") or "")[:500]
        ep["last"] = max(ep["last"], ts)
        ep["closed"] = ep["closed"] or dto.get("episodeStatus") == "closed"
        if isinstance(dto.get("episodeRTask"), (int, float)):
            ep["reward"] = dto["episodeRTask"]
    return episodes, traces, policies


def _episode_id(raw: str) -> str:
    return lo.source_id(raw)


def read(path: Path) -> Iterator[dict[str, Any]]:
    episodes, trace_ids, policy_ids = _episode_extents(path)
    for raw, ep in episodes.items():
        outcome = "unknown" if ep["reward"] is None else ("success" if ep["reward"] > 0 else "failure")
        yield lo.episode(_episode_id(raw), iso(ep["first"]), task=ep["task"],
                         closed_at=iso(ep["last"]) if ep["closed"] else None, outcome=outcome)
    links: list[dict[str, Any]] = []
    fallback = now_ms()
    for m in _members(path):
        value = m.value
        if m.index is None:
            continue
        where = f"{path.name}: {m.key}[{m.index}]"
        if not isinstance(value, dict):
            raise invalid(where, "expected an object")
        if m.key == "memosEpisodes":
            yield value
        elif m.key == "memosLinks":
            links.append(value)
        elif "memos" in value:  # one of ours: the objects it was made from ride with it
            if not isinstance(value["memos"], list):
                raise invalid(where, "memos: expected a list of interchange objects")
            yield from value["memos"]
        elif m.key == "traces":
            yield from _trace(value, where, fallback)
        elif m.key in ("policies", "worldModels", "skills"):
            record, refs = _derived(m.key, value, where, fallback, trace_ids, policy_ids)
            if record is not None:
                yield record
                links.extend(lo.link(record["id"], target, "derived_from", record["temporal"]["created_at"])
                             for target in refs)
    yield from links


def _plugin_meta(dto: dict[str, Any]) -> dict[str, Any]:
    skip = {"userText", "agentText", "toolCalls", "agentThinking", "tags", "id", "episodeId", "ts"}
    return {k: v for k, v in dto.items() if k not in skip and v is not None}


def _trace(dto: dict[str, Any], where: str, fallback: int) -> Iterator[dict[str, Any]]:
    if not dto.get("id") or not dto.get("episodeId"):
        raise invalid(where, "id and episodeId are required")
    tid = lo.source_id(str(dto["id"]))
    episode = _episode_id(str(dto["episodeId"]))
    ts = _ms(dto.get("ts"), fallback)
    tags = dto.get("tags") or []
    extra = {"memos_plugin": {"trace_id": dto["id"], **_plugin_meta(dto)}}
    step = 0

    def at() -> str:
        nonlocal step
        step += 1
        return iso(ts + step - 1)  # keeps the turn's order when its parts share one timestamp

    user = str(dto.get("userText") or "")
    if user.strip():
        yield lo.trace(f"{tid}-user", "message", user, at(), PLATFORM, episode_id=episode, tags=tags,
                       metadata={"role": "user", **extra}, message_ref=str(dto["id"]))
        extra = {}
    for i, call in enumerate(dto.get("toolCalls") or []):
        if not isinstance(call, dict) or not call.get("name"):
            raise invalid(f"{where}.toolCalls[{i}]", "a tool call needs a name")
        started, ended = call.get("startedAt"), call.get("endedAt")
        duration = int(ended - started) if isinstance(started, (int, float)) and isinstance(ended, (int, float)) else None
        tool = lo.tool_call(str(call["name"]), call.get("input"), call.get("output"),
                            failed=bool(call.get("errorCode")), duration_ms=duration)
        meta: dict[str, Any] = {"role": "assistant", **extra}
        for key in ("toolCallId", "errorCode", "thinkingBefore", "assistantTextBefore"):
            if call.get(key):
                meta[key] = call[key]
        yield lo.trace(f"{tid}-tool-{i}", "tool_call", lo.render_tool(tool), at(), PLATFORM, episode_id=episode,
                       tags=tags, tool=tool, metadata=meta, message_ref=str(dto["id"]))
        extra = {}
    agent = str(dto.get("agentText") or "")
    if agent.strip():
        meta = {"role": "assistant", **extra}
        if dto.get("agentThinking"):
            meta["thinking"] = dto["agentThinking"]
        yield lo.trace(f"{tid}-agent", "message", agent, at(), PLATFORM, episode_id=episode, tags=tags,
                       metadata=meta, message_ref=str(dto["id"]))


def _lines(title: str, pairs: Iterable[tuple[str, Any]]) -> str:
    out = [title.strip()]
    for label, value in pairs:
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value if v)
        if value:
            out.append(f"{label}: {value}" if label else str(value))
    return "\n".join(s for s in out if s)


def _structure(structure: Any) -> list[tuple[str, str]]:
    out = []
    for facet in ("environment", "inference", "constraints"):
        for entry in (structure or {}).get(facet) or []:
            if isinstance(entry, dict) and entry.get("label"):
                out.append((facet, f"{entry['label']} — {entry.get('description') or ''}".strip(" —")))
    return out


def _derived(key: str, dto: dict[str, Any], where: str, fallback: int, trace_ids: dict[str, str],
             policy_ids: set[str]) -> tuple[dict[str, Any] | None, list[str]]:
    if not dto.get("id"):
        raise invalid(where, "id is required")
    if key == "policies":
        content = _lines(str(dto.get("title") or ""), [
            ("Trigger", dto.get("trigger")), ("Procedure", dto.get("procedure")),
            ("Verification", dto.get("verification")), ("Boundary", dto.get("boundary")),
            ("Prefer", dto.get("preference")), ("Avoid", dto.get("antiPattern"))])
        cited = [trace_ids[str(t)] for t in dto.get("sourceTraceIds") or [] if str(t) in trace_ids]
        label = "policy"
    elif key == "worldModels":
        content = _lines(str(dto.get("title") or ""), [("", dto.get("body"))] + _structure(dto.get("structure")))
        cited = [lo.source_id(str(p)) for p in dto.get("policyIds") or [] if str(p) in policy_ids]
        label = "world_model"
    else:
        guidance = dto.get("decisionGuidance") or {}
        content = _lines(str(dto.get("name") or ""), [("", dto.get("invocationGuide")),
                                                      ("Prefer", guidance.get("preference")),
                                                      ("Avoid", guidance.get("antiPattern"))])
        cited = [trace_ids[str(t)] for t in dto.get("evidenceAnchors") or [] if str(t) in trace_ids]
        cited += [lo.source_id(str(p)) for p in dto.get("sourcePolicyIds") or [] if str(p) in policy_ids]
        label = "skill"
    if not content.strip():
        return None, []
    created = iso(_ms(dto.get("createdAt"), fallback))
    updated = iso(_ms(dto.get("updatedAt"), _ms(dto.get("createdAt"), fallback)))
    record = lo.trace(lo.source_id(str(dto["id"])), "note", content, created, PLATFORM, updated_at=updated,
                      tags=[label] + (["archived"] if dto.get("status") == "archived" else []),
                      metadata={"memos_plugin": {label: dto}})
    return record, list(dict.fromkeys(cited))


# --- writing ------------------------------------------------------------------------------------


def _unfiled(cube: str | None) -> str:
    return lo.source_id("memos", cube or "cube", "unfiled")


class _Gather:
    def __init__(self) -> None:
        self.episodes: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.riders: dict[str, list[dict[str, Any]]] = {}
        self.order: list[str] = []
        self.links: list[dict[str, Any]] = []

    def add(self, obj: dict[str, Any]) -> None:
        kind = obj.get("object")
        if kind == "episode":
            self.episodes[obj["id"]] = obj
        elif kind == "memory":
            self.records[obj["id"]] = obj
            self.riders[obj["id"]] = []
            self.order.append(obj["id"])
        elif kind == "link":
            self.links.append(obj)
        elif obj.get("memory_id") in self.riders:  # its vectors, versions and feedback ride with it
            self.riders[obj["memory_id"]].append(obj)
        # an episode's task vector has no place in a bundle: it is embedded again on import


def _tool_dto(record: dict[str, Any]) -> dict[str, Any]:
    tool = record.get("tool") or {}
    out: dict[str, Any] = {"name": tool.get("name") or "tool", "input": tool.get("arguments") or {},
                           "output": tool.get("result"), "toolCallId": record["id"]}
    if (tool.get("status") or "").casefold() in {"error", "failed", "failure", "fail", "timeout", "cancelled",
                                                 "crashed"}:
        out["errorCode"] = tool["status"]
    start = to_ms(record["temporal"]["created_at"])
    if tool.get("duration_ms") is not None:
        out["startedAt"], out["endedAt"] = start, start + int(tool["duration_ms"])
    return out


def _trace_dto(records: list[dict[str, Any]], episode: str, session: str, riders: dict[str, list]) -> dict[str, Any]:
    first = records[0]
    ts = to_ms(first["temporal"]["created_at"])
    user, agent, tools, tags = [], [], [], []
    for r in records:
        tags.extend(t for t in r.get("tags") or [] if t not in tags)
        if r.get("kind") == "tool_call" and r.get("tool"):
            tools.append(_tool_dto(r))
        elif r.get("kind") == "summary":
            agent.append(r["content"])
        elif (r.get("metadata") or {}).get("role", "user") in ("user", "human") or r.get("kind") in ("note", "persona"):
            user.append(r["content"])
        else:
            agent.append(r["content"])
    return {
        "id": first["id"], "episodeId": episode, "sessionId": session, "ts": ts,
        "userText": "\n\n".join(user), "agentText": "\n\n".join(agent), "summary": None, "tags": tags,
        "share": None, "toolCalls": tools, "agentThinking": None, "value": 0, "alpha": 0, "priority": 0.5,
        "turnId": ts, "memos": [o for r in records for o in (r, *riders[r["id"]])],
    }


def _world_dto(record: dict[str, Any], riders: list[dict[str, Any]]) -> dict[str, Any]:
    meta = record.get("metadata") or {}
    label = " ".join(str(meta.get(k)) for k in ("subject", "predicate", "object") if meta.get(k))
    return {
        "id": record["id"], "title": record["content"][:120], "body": record["content"],
        "structure": {"environment": [{"label": label or record["content"][:60], "description": record["content"],
                                       "evidenceIds": list(record.get("source_ids") or [])}],
                      "inference": [], "constraints": []},
        "policyIds": [], "createdAt": to_ms(record["temporal"]["created_at"]),
        "updatedAt": to_ms(record["temporal"].get("updated_at") or record["temporal"]["created_at"]),
        "version": record.get("version", 1), "status": "active" if record.get("status") == "active" else "archived",
        "share": None, "memos": [record, *riders],
    }


def _skill_dto(record: dict[str, Any], riders: list[dict[str, Any]]) -> dict[str, Any]:
    skill = record.get("metadata") or {}
    steps = "; ".join(str(s.get("tool")) for s in skill.get("steps") or [] if isinstance(s, dict))
    guide = "\n".join(x for x in (skill.get("description"), f"When to use: {skill.get('when_to_use')}"
                                  if skill.get("when_to_use") else "", f"Steps: {steps}" if steps else "") if x)
    return {
        "id": record["id"], "name": skill.get("name") or record["content"][:60],
        "status": "active" if record.get("status") == "active" else "archived",
        "invocationGuide": guide or record["content"],
        "decisionGuidance": {"preference": [], "antiPattern": list(skill.get("failures") or [])[:10]},
        "evidenceAnchors": list(record.get("source_ids") or []), "eta": float(skill.get("success_rate") or 0),
        "support": int(skill.get("successes") or 0), "gain": 0, "trialsAttempted": int(skill.get("runs") or 0),
        "trialsPassed": int(skill.get("successes") or 0), "sourcePolicyIds": [], "sourceWorldModelIds": [],
        "createdAt": to_ms(record["temporal"]["created_at"]),
        "updatedAt": to_ms(record["temporal"].get("updated_at") or record["temporal"]["created_at"]),
        "version": record.get("version", 1), "share": None, "usageCount": 0, "lastUsedAt": None,
        "memos": [record, *riders],
    }


def write(objects: Iterable[dict[str, Any]], path: Path) -> int:
    """Our export as the plugin's bundle at `path` (JSON). Returns the memory records written."""
    g = _Gather()
    for obj in objects:
        g.add(obj)
    traces, worlds, skills = [], [], []
    turns: dict[str, list[list[dict[str, Any]]]] = {}
    for mid in g.order:
        r = g.records[mid]
        if r["tier"] == "world":
            worlds.append(_world_dto(r, g.riders[mid]))
        elif r["tier"] == "skill":
            skills.append(_skill_dto(r, g.riders[mid]))
        elif r.get("kind") in _CONVERSATION_KINDS and r.get("episode"):
            groups = turns.setdefault(r["episode"], [])
            starts = r.get("kind") == "message" and (r.get("metadata") or {}).get("role", "user") in ("user", "human")
            if starts or not groups:
                groups.append([])
            groups[-1].append(r)
        else:
            episode = r.get("episode") or _unfiled(r.get("cube"))
            traces.append(_trace_dto([r], episode, f"se-{episode}", g.riders))
    for episode, groups in turns.items():
        traces.extend(_trace_dto(group, episode, f"se-{episode}", g.riders) for group in groups)
    traces.sort(key=lambda t: (t["ts"], t["id"]))
    bundle = {"version": 1, "exportedAt": now_ms(), "memosEpisodes": list(g.episodes.values()), "traces": traces,
              "policies": [], "worldModels": worlds, "skills": skills, "memosLinks": g.links}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n")
    return len(g.order)
