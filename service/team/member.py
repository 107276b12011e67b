"""This server as a team member: join a hub, publish skills to it, pull the team's skills, and
replicate the knowledge-base cubes it shares (read-only here).

The hub's key is pinned when joining; every roster the hub sends later must carry its signature,
and every pulled bundle must be signed by a key that roster names, and verify, before anything of
the page is written. A bad bundle refuses the whole pull, and the pull position stays where it was.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import ray

from actors.stage_chain import StageChain
from pipeline.access import Caller, Role
from pipeline.errors import Conflict, Invalid, MemosError, NotFound, SignatureInvalid, UnknownSigner, WriteFailed
from pipeline.ids import is_cube_id
from pipeline.interchange import export_objects as export
from pipeline.interchange.import_drafts import restore_memory, restore_version
from pipeline.interchange.model import iso
from pipeline.records import Tier
from pipeline.team.bundle import check_bundle, pulled_objects, skill_bundle
from pipeline.team.credentials import check_team, parse_join_token
from pipeline.team.cursor import lag, parse_cursor
from pipeline.team.signing import verifies
from pipeline.team.stats import RunCounts, own_counts
from pipeline.timefmt import now_ms
from service.access import Access
from service.team.hub_client import HubClient, check_hub_url
from service.team.identity import ServerIdentity
from service.team.replication import ReplicaWriter
from storage.cube_feed import FeedReader
from storage.hub_store import Membership, Replica, TeamStore
from storage.paths import DataPaths
from storage.registry import Cube, Registry

log = logging.getLogger(__name__)

REPLICA_OWNER = "team-replica"  # owns every replica cube; local agents get read only
PULL_PAGES_MAX = 1_000


def replica_view(r: Replica, rows: int | None) -> dict[str, Any]:
    return {"cube": r.cube, "team": r.team, "state": r.state, "cursor": r.cursor, "applied": r.applied,
            "hub_last": r.hub_last, "lag": r.lag, "rows": rows, "synced_at": iso(r.synced_at) if r.synced_at else None,
            "error": r.error}


def membership_view(m: Membership) -> dict[str, Any]:
    return {"team": m.team, "hub_url": m.hub_url, "member": m.member, "status": m.status,
            "joined_at": iso(m.joined_at), "checked_at": iso(m.checked_at) if m.checked_at else None}


class MemberService:
    def __init__(self, store: TeamStore, identity: ServerIdentity, registry: Registry, access: Access,
                 paths: DataPaths, chain: StageChain, model: str, dim: int, public_url: str,
                 on_shard_written: Callable[[str], None]) -> None:
        self._store, self._identity, self._registry, self._access = store, identity, registry, access
        self._paths, self._chain, self._model, self._dim = paths, chain, model, dim
        self._url, self._written = public_url, on_shard_written
        self._sync_lock = threading.Lock()

    # --- membership ---------------------------------------------------------------------------

    def _signed(self, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "member": self._identity.id, "public_key": self._identity.public_key,
                "at": int(time.time() * 1000)}
        return {**body, "signature": self._identity.sign(body)}

    def join(self, url: str, token: str) -> dict[str, Any]:
        url = check_hub_url(url)
        team, _ = parse_join_token(token)
        body = self._signed({"token": token, "name": self._url, "url": self._url})
        answer = HubClient(url).call("POST", "/v1/hub/join", body, member=False)
        if answer.get("member") != self._identity.id or not isinstance(answer.get("hub_key"), str):
            raise Invalid("the hub's answer to the join names another member or no hub key")
        self._store.save_membership(team, url, self._identity.id, str(answer.get("status", "pending")),
                                    answer["hub_key"])
        return {"member": self._identity.id, "status": answer.get("status", "pending"), "team": team}

    def _membership(self, team: str) -> Membership:
        check_team(team)
        m = self._store.membership(team)
        if m is None:
            raise NotFound(f"this server is not a member of team {team}: run `memos hub join URL --token TOKEN`")
        return m

    def refresh(self, team: str) -> Membership:
        """Ask the hub how the join stands; an approval brings the credential (once)."""
        m = self._membership(team)
        if m.status == "approved" and m.credential:
            return m
        answer = HubClient(m.hub_url).call("POST", "/v1/hub/membership", self._signed({"team": team}),
                                           member=False)
        status = str(answer.get("status", m.status))
        credential = answer.get("credential") if isinstance(answer.get("credential"), str) else None
        self._store.update_membership(team, status=status, credential=credential)
        return self._membership(team)

    def _client(self, team: str) -> tuple[Membership, HubClient]:
        m = self.refresh(team)
        if m.status != "approved" or not m.credential:
            raise Conflict(f"the membership of team {team} is {m.status}: the hub's admin must approve it first "
                           f"(`memos hub approve {m.member}` on the hub)")
        return m, HubClient(m.hub_url, m.credential)

    def status(self) -> dict[str, Any]:
        out = []
        for m in self._store.memberships():
            if m.status == "pending" or (m.status == "approved" and not m.credential):
                try:
                    m = self.refresh(m.team)
                except MemosError as exc:  # the status shows the hub as it is; a dead hub is no error here
                    log.info("team %s: hub status unknown: %s", m.team, exc.message)
            out.append(membership_view(m))
        return {"member": self._identity.id, "memberships": out,
                "replicas": [replica_view(r, self._rows(r.cube)) for r in self._store.replicas()]}

    def _rows(self, cube_id: str) -> int | None:
        path = self._paths.cube_db(cube_id)
        if not path.exists():
            return 0
        reader = FeedReader(path)
        try:
            return reader.count(None)  # every memory the replica holds, superseded ones too
        finally:
            reader.close()

    # --- skills -------------------------------------------------------------------------------

    def _find_skill(self, caller: Caller, skill_id: str, cube_id: str | None) -> tuple[Cube, dict[str, Any]]:
        for cube in self._access.search_cubes(caller, [cube_id] if cube_id else None):
            path = self._paths.cube_db(cube.id)
            if not path.exists():
                continue
            with FeedReader(path) as reader:
                rows = reader.rows_by_id([skill_id])
                row = rows.get(skill_id)
                if row is None or row.record.tier != Tier.SKILL:
                    continue
                return cube, {"row": row, "versions": reader.versions_of([skill_id]).get(skill_id, []),
                              "reader_traces": self._traces(reader, row.record.metadata or {})}
        raise NotFound(f"skill {skill_id[:80]} does not exist")

    @staticmethod
    def _traces(reader: FeedReader, skill: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for episode in list(skill.get("examples") or [])[:20]:
            out += [export.memory_object(rec) for rec in reader.episode_traces(str(episode))]
        return out

    def publish(self, caller: Caller, skill_id: str, team: str, cube_id: str | None, traces: bool) -> dict[str, Any]:
        m, hub = self._client(team)
        cube, found = self._find_skill(caller, skill_id, cube_id)
        row = found["row"]
        rec = row.record
        memory = export.memory_object(rec)
        skill = memory["metadata"]
        baseline = (skill.get("team") or {}).get("baseline") if isinstance(skill.get("team"), dict) else None
        own = own_counts(int(skill.get("runs") or 0), int(skill.get("successes") or 0), baseline)
        vector = export.vector_object(np.frombuffer(row.vector, dtype=np.float32), row.model, memory_id=rec.id) \
            if row.vector is not None and row.model else None
        versions = [export.version_object(rec.id, rec.tier, old) for old in found["versions"]]
        bundle = skill_bundle(team, {"member": self._identity.id, "name": self._url,
                                     "public_key": self._identity.public_key},
                              memory, vector, versions, own, iso(now_ms()),
                              found["reader_traces"] if traces else ())
        signature = self._identity.sign(bundle)
        answer = hub.call("POST", f"/v1/hub/teams/{team}/skills", {"bundle": bundle, "signature": signature})
        return {"skill": answer.get("skill", rec.id), "version": answer.get("version", rec.version),
                "signature": signature, "team": team, "cube": cube.id, "stored": answer.get("stored")}

    def pull(self, caller: Caller, team: str, cube_id: str | None) -> dict[str, Any]:
        """Import the team's new shared skill versions into a cube the caller can write (its own by default)."""
        m, hub = self._client(team)
        target = self._access.require(caller, cube_id, Role.WRITE)
        self._report(hub, team, target)
        pulled: list[str] = []
        versions = 0
        after = m.pull_after
        for _ in range(PULL_PAGES_MAX):
            page = hub.call("GET", f"/v1/hub/teams/{team}/skills/feed", params={"after": after})
            entries = self._verified(m, team, page)
            for entry in entries:
                if entry["publisher"] == self._identity.id:
                    continue  # our own skill: the original is here
                if self._import(target, entry, team):
                    versions += 1
                    pulled.append(entry["skill"])
            after = int(page.get("next", after))
            self._store.update_membership(team, pull_after=after)
            if not page.get("more"):
                break
        return {"pulled": list(dict.fromkeys(pulled)), "versions": versions, "cube": target.id, "team": team}

    def _verified(self, m: Membership, team: str, page: dict[str, Any]) -> list[dict[str, Any]]:
        roster, kept = page.get("roster"), page.get("kept")
        if not isinstance(roster, dict) or not isinstance(kept, dict) or not verifies(
                m.hub_key, {"team": team, "roster": roster, "kept": kept}, str(page.get("roster_signature", ""))):
            raise SignatureInvalid(f"the team {team} roster is not signed by the hub this server joined")
        entries = page.get("skills")
        if not isinstance(entries, list):
            raise Invalid("the hub's skill feed holds no list of skills")
        for entry in entries:
            bundle = check_bundle(entry.get("bundle"))
            publisher = bundle["publisher"]
            key = roster.get(publisher["member"]) or kept.get(publisher["member"])
            if key is None or key != publisher["public_key"] or key != entry.get("public_key"):
                raise UnknownSigner(f"skill {bundle['skill_id']} version {bundle['skill_version']} is signed by "
                                    f"{str(publisher['member'])[:40]}, which is not a member of team {team}: refused")
            if not verifies(key, bundle, str(entry.get("signature", ""))):
                raise SignatureInvalid(f"skill {bundle['skill_id']} version {bundle['skill_version']} from "
                                       f"{publisher['member']}: the signature does not verify (the bundle was "
                                       "changed after it was signed): refused, nothing was imported")
            entry["publisher"] = publisher["member"]
        return entries

    def _import(self, target: Cube, entry: dict[str, Any], team: str) -> bool:
        """Write one verified version: a new skill whole, a newer version as the next version; older: nothing."""
        bundle = entry["bundle"]
        stats = entry.get("stats") or {}
        totals = RunCounts(int(stats.get("runs", 0)), int(stats.get("successes", 0)))
        objects = pulled_objects(bundle, totals, team)
        head = objects[0]
        current = self._stored(target, head["id"])
        if current is not None and current >= int(bundle["skill_version"]):
            return False
        writer = ReplicaWriter(self._paths, self._chain, target, self._model, self._dim, self._written)
        agent = head.get("agent") or target.owner
        if current is None:
            ops = [restore_memory(head, target.id, agent)]
            ops += [restore_version(o, target.id, agent) for o in objects if o.get("object") == "skill_version"]
        else:
            ops = [restore_memory(head, target.id, agent, replace_version=current, now=now_ms())]
        vector = next((o for o in objects if o.get("object") == "vector"), None)
        given = {}
        if vector is not None and vector.get("model") == self._model and vector.get("dimensions") == self._dim:
            given = {head["id"]: np.asarray(vector["vector"], dtype=np.float32)}
        landed = ray.get(writer.submit(ops, given))
        writer.settle()
        if landed["failed"]:
            _, code, message = landed["failed"][0]
            raise WriteFailed(f"skill {head['id']} could not be stored: {code}: {message}")
        return True

    def _stored(self, cube: Cube, skill_id: str) -> int | None:
        path = self._paths.cube_db(cube.id)
        if not path.exists():
            return None
        reader = FeedReader(path)
        try:
            rec = reader.get(skill_id)
            return rec.version if rec is not None else None
        finally:
            reader.close()

    def _report(self, hub: HubClient, team: str, cube: Cube) -> None:
        """Our own runs of the team's skills we hold, so the team totals count them (never twice)."""
        path = self._paths.cube_db(cube.id)
        if not path.exists():
            return
        reports = []
        with FeedReader(path) as reader:
            for skill in reader.skills():
                shared = skill.get("team")
                if isinstance(shared, dict) and shared.get("name") == team:
                    own = own_counts(int(skill.get("runs") or 0), int(skill.get("successes") or 0),
                                     shared.get("baseline"))
                    if own.runs:
                        reports.append({"skill": skill["id"], **own.to_dict()})
        if reports:
            hub.call("POST", f"/v1/hub/teams/{team}/skills/runs", {"reports": reports})

    def search(self, team: str, query: str, vector: list[float] | None, top_k: int) -> list[dict[str, Any]]:
        _, hub = self._client(team)
        answer = hub.call("POST", f"/v1/hub/teams/{team}/search", {"query": query, "vector": vector, "top_k": top_k})
        return list(answer.get("skills") or [])

    def listing(self, team: str) -> list[dict[str, Any]]:
        _, hub = self._client(team)
        return list(hub.call("GET", f"/v1/hub/teams/{team}/skills").get("skills") or [])

    def teams(self) -> list[str]:
        return [m.team for m in self._store.memberships() if m.status == "approved"]

    # --- replicas -----------------------------------------------------------------------------

    def replicate(self, caller: Caller, team: str, cube_id: str) -> dict[str, Any]:
        """Start replicating a cube the hub shares with the team; the caller may read the replica here."""
        m, hub = self._client(team)
        if not is_cube_id(cube_id) or not cube_id.startswith("kb-"):
            raise NotFound(f"the hub shares no cube {cube_id[:80]} with team {team}: only knowledge-base cubes are shared")
        shared = {c["cube"]: c for c in hub.call("GET", f"/v1/hub/teams/{team}/cubes").get("cubes") or []}
        if cube_id not in shared:
            raise NotFound(f"the hub shares no cube {cube_id} with team {team}")
        existing = self._registry.get(cube_id)
        replica = self._store.replica(cube_id)
        if existing is not None and replica is None:
            raise Conflict(f"cube {cube_id} exists on this server and is not a replica")
        if existing is None:
            self._registry.create_kb(cube_id, str(shared[cube_id].get("name") or cube_id)[:200], REPLICA_OWNER,
                                     f"read-only replica of team {team}'s cube")
        self._registry.grant(cube_id, caller.agent, Role.READ, REPLICA_OWNER)
        self._registry.mount(caller.agent, cube_id)
        self._store.save_replica(cube_id, team, caller.agent)
        return self.sync_cube(cube_id)

    def sync(self, team: str | None) -> dict[str, Any]:
        if team is not None:
            self._membership(team)
        return {"replicas": [self.sync_cube(r.cube) for r in self._store.replicas(team)]}

    def sync_cube(self, cube_id: str, max_pages: int | None = None) -> dict[str, Any]:
        """Pull pages until the replica is current (or `max_pages`); each page's cursor kept once it landed."""
        replica = self._store.replica(cube_id)
        if replica is None:
            raise NotFound(f"cube {cube_id} is not a replica on this server")
        with self._sync_lock:
            cube = self._registry.get(cube_id)
            if cube is None:
                raise NotFound(f"replica cube {cube_id} is gone from this server")
            writer = ReplicaWriter(self._paths, self._chain, cube, self._model, self._dim, self._written)
            pages = 0
            try:
                _, hub = self._client(replica.team)
                cursor = replica.cursor
                while max_pages is None or pages < max_pages:
                    page = hub.call("GET", f"/v1/hub/teams/{replica.team}/cubes/{cube_id}/changes",
                                    params={"cursor": cursor})
                    applied = writer.apply(page)
                    cursor = str(page.get("cursor", cursor))
                    hub_last = int(page.get("hub_last", 0))
                    more = bool(page.get("more"))
                    behind = lag(parse_cursor(cursor), hub_last)
                    self._store.advance_replica(cube_id, cursor, applied.upserts + applied.deletes, hub_last,
                                                behind, "syncing" if more else "current")
                    pages += 1
                    if not more:
                        break
            except MemosError as exc:  # kept on the replica (`memos hub status`); the next sync resumes
                self._store.replica_failed(cube_id, f"{exc.code}: {exc.message}")
            except (KeyError, TypeError, ValueError) as exc:  # a page not in the hub API's shape
                self._store.replica_failed(cube_id, f"invalid page: {type(exc).__name__}: {exc}")
            finally:
                if pages:
                    writer.settle()
        replica = self._store.replica(cube_id)
        assert replica is not None
        return replica_view(replica, self._rows(cube_id))

    def sync_all(self) -> None:
        for r in self._store.replicas():
            try:
                self.sync_cube(r.cube)
            except MemosError as exc:
                log.warning("replica %s: %s", r.cube, exc.message)
