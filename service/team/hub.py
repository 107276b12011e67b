"""A team hub: teams, join requests and their approval, member credentials, shared skills and cubes.

Members reach the hub in two ways: a join request and its status poll carry the member's ed25519
signature (its key is its identity, `srv-<sha256 of the key>`); once approved, every other request
carries the member credential the hub issued (`Authorization: Bearer mcr_...`), checked on each
request against the member's current state, so removing a member refuses its very next request.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import numpy as np
import orjson

from configs import Settings
from pipeline.errors import Conflict, Invalid, NotAHub, NotFound, SignatureInvalid, Unauthorized, UnknownSigner
from pipeline.interchange.model import iso
from pipeline.team.bundle import check_bundle
from pipeline.team.credentials import check_team, new_credential, new_join_token, parse_credential, parse_join_token
from pipeline.team.signing import SERVER_ID, server_id, verifies
from pipeline.team.skill_search import SharedSkillText, rank_skills
from pipeline.team.stats import RunCounts, success_rate, team_totals
from service.team.identity import ServerIdentity
from service.team.replication import feed_page
from storage.hub_store import MemberRow, SharedSkill, TeamStore, secret_matches
from storage.paths import DataPaths
from storage.registry import Registry

CLOCK_SKEW_MS = 10 * 60 * 1000  # a signed request older or newer than this is refused (replays)
PAGE_SKILLS = 200


def member_view(m: MemberRow) -> dict[str, Any]:
    return {"member": m.id, "team": m.team, "name": m.name, "url": m.url, "status": m.status,
            "joined_at": iso(m.joined_at), "decided_at": iso(m.decided_at) if m.decided_at else None}


class HubService:
    def __init__(self, settings: Settings, store: TeamStore, identity: ServerIdentity, registry: Registry,
                 paths: DataPaths) -> None:
        self._settings, self._store, self._identity = settings, store, identity
        self._registry, self._paths = registry, paths
        self._verified: dict[str, tuple[str, str]] = {}  # sha256(credential) -> (team, member)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._settings.hub

    def _require_hub(self) -> None:
        if not self._settings.hub:
            raise NotAHub("this server is not a team hub: start it with `memos serve --hub` (setting hub = true)")

    def _team(self, team: str) -> str:
        self._require_hub()
        check_team(team)
        if team not in self._store.teams():
            raise NotFound(f"team {team} does not exist on this hub")
        return team

    # --- the admin's side ---------------------------------------------------------------------

    def init_team(self, team: str) -> dict[str, Any]:
        """A new team and its join token, shown this once (the hub keeps only its hash)."""
        self._require_hub()
        check_team(team)
        if team in self._store.teams():
            raise Conflict(f"team {team} exists already on this hub")
        token, secret = new_join_token(team)
        self._store.create_team(team, secret)
        return {"team": team, "join_token": token, "hub_key": self._identity.public_key}

    def teams(self) -> list[str]:
        return self._store.teams() if self._settings.hub else []

    def members(self, team: str | None) -> dict[str, Any]:
        self._require_hub()
        if team is not None:
            self._team(team)
        return {"members": [member_view(m) for m in self._store.members(team)]}

    def _member(self, member: str, team: str | None) -> MemberRow:
        self._require_hub()
        if not SERVER_ID.fullmatch(member):
            raise Invalid(f"member {member[:40]!r} is not a member id (srv-...)")
        rows = [m for m in self._store.members(team) if m.id == member] if team else \
            [m for m in self._store.members(None) if m.id == member]
        if not rows:
            raise NotFound(f"member {member} is not in {'team ' + team if team else 'any team of this hub'}")
        if len(rows) > 1:
            raise Invalid(f"member {member} is in teams {', '.join(r.team for r in rows)}: name one with team")
        return rows[0]

    def approve(self, member: str, team: str | None) -> dict[str, Any]:
        row = self._member(member, team)
        if row.status == "approved":
            return member_view(row)
        credential, secret = new_credential(row.id)
        self._store.decide(row.team, row.id, "approved", secret, credential)
        return member_view(self._store.member(row.team, row.id) or row)

    def reject(self, member: str, team: str | None) -> dict[str, Any]:
        row = self._member(member, team)
        self._store.decide(row.team, row.id, "rejected")
        self._forget(row.team, row.id)
        return member_view(self._store.member(row.team, row.id) or row)

    def remove(self, member: str, team: str | None, published: str) -> dict[str, Any]:
        """Revoke at once; what it published stays (`keep`) or goes (`drop`)."""
        if published not in ("keep", "drop"):
            raise Invalid("published must be keep or drop")
        row = self._member(member, team)
        self._store.decide(row.team, row.id, "removed")
        self._forget(row.team, row.id)
        dropped = self._store.drop_published(row.team, row.id) if published == "drop" else 0
        return {**member_view(self._store.member(row.team, row.id) or row), "dropped_skills": dropped}

    def _forget(self, team: str, member: str) -> None:
        with self._lock:
            for digest in [d for d, who in self._verified.items() if who == (team, member)]:
                del self._verified[digest]

    def share_cube(self, team: str, cube_id: str) -> dict[str, Any]:
        self._team(team)
        cube = self._registry.get(cube_id)
        if cube is None or cube.kind != "kb":
            raise NotFound(f"knowledge-base cube {cube_id} does not exist on this hub")
        self._store.share_cube(team, cube_id)
        return {"team": team, "cubes": self._store.shared_cubes(team)}

    def unshare_cube(self, team: str, cube_id: str) -> dict[str, Any]:
        self._team(team)
        if not self._store.unshare_cube(team, cube_id):
            raise NotFound(f"cube {cube_id} is not shared with team {team}")
        return {"team": team, "cubes": self._store.shared_cubes(team)}

    def status(self) -> dict[str, Any]:
        """What this server hubs: teams, members by status, shared skills and cubes."""
        if not self._settings.hub:
            return {"enabled": False, "teams": []}
        teams = []
        for team in self._store.teams():
            members = self._store.members(team)
            teams.append({"team": team, "members": {s: sum(1 for m in members if m.status == s)
                                                    for s in ("pending", "approved", "rejected", "removed")},
                          "skills": len(self._store.latest_skills(team)), "cubes": self._store.shared_cubes(team)})
        return {"enabled": True, "key": self._identity.public_key, "member_id": self._identity.id, "teams": teams}

    # --- the members' side: signed join and status ----------------------------------------------

    def join(self, body: dict[str, Any]) -> dict[str, Any]:
        self._require_hub()
        team, secret = parse_join_token(str(body.get("token", "")))
        if team not in self._store.teams() or not self._store.token_matches(team, secret):
            raise Unauthorized("this join token is not valid")
        member = self._signed(body)
        row = self._store.add_member(team, member, str(body.get("name", ""))[:200], str(body.get("url", ""))[:2000],
                                     str(body["public_key"]))
        return {"member": row.id, "status": row.status, "team": team, "hub_key": self._identity.public_key}

    def member_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """A member's state, and once approved its credential, handed over this once."""
        self._require_hub()
        team = str(body.get("team", ""))
        member = self._signed(body)
        row = self._store.member(team, member) if team in self._store.teams() else None
        if row is None or row.public_key != body.get("public_key"):
            raise NotFound(f"member {member} has not asked to join team {team[:64]}")
        out: dict[str, Any] = {"member": row.id, "team": team, "status": row.status}
        credential = self._store.collect_credential(team, member) if row.status == "approved" else None
        if credential is not None:
            out["credential"] = credential
        return out

    def _signed(self, body: dict[str, Any]) -> str:
        """The member id a signed body proves: its key's id, the signature good, the time recent."""
        key, signature, at = body.get("public_key"), body.get("signature"), body.get("at")
        if not isinstance(key, str) or not isinstance(signature, str) or not isinstance(at, int):
            raise Unauthorized("a signed request carries public_key, at and signature")
        unsigned = {k: v for k, v in body.items() if k != "signature"}
        if not verifies(key, unsigned, signature):
            raise Unauthorized("the request's signature does not verify")
        if abs(int(time.time() * 1000) - at) > CLOCK_SKEW_MS:
            raise Unauthorized("the signed request is too old or from the future (check the clocks)")
        member = server_id(key)
        if body.get("member") not in (None, member):
            raise Unauthorized("the member id is not the one its key gives")
        return member

    # --- the members' side: credential --------------------------------------------------------

    def authenticate(self, authorization: str | None, team: str) -> str:
        """The approved member behind a credential, checked again on every request (revocation is immediate)."""
        self._require_hub()
        member, secret = parse_credential(authorization)
        digest = hashlib.sha256((authorization or "").encode()).hexdigest()
        with self._lock:
            known = self._verified.get(digest)
        row = self._store.member(team, member)
        if row is None or row.status != "approved":
            raise Unauthorized(f"this credential is not accepted in team {team[:64]}")
        if known != (team, member):
            if not secret_matches(row.credential_hash, secret):
                raise Unauthorized("this credential is not valid")
            with self._lock:
                self._verified[digest] = (team, member)
        return member

    def roster(self, team: str) -> dict[str, Any]:
        """The approved members' keys, signed by the hub (members pin the hub's key when they join)."""
        members = self._store.members(team)
        roster = {m.id: m.public_key for m in members if m.status == "approved"}
        # Removed members whose published skills the admin kept: their signatures still stand.
        kept = {m.id: m.public_key for m in members if m.status == "removed"}
        signed = {"team": team, "roster": roster, "kept": kept}
        return {"roster": roster, "kept": kept, "roster_signature": self._identity.sign(signed)}

    def publish(self, team: str, member: str, bundle: Any, signature: Any) -> dict[str, Any]:
        self._team(team)
        check_bundle(bundle)
        if bundle["team"] != team:
            raise Invalid(f"the bundle is for team {str(bundle['team'])[:64]}, not {team}")
        publisher = bundle["publisher"]
        row = self._store.member(team, member)
        if publisher["member"] != member or row is None:
            raise UnknownSigner(f"the bundle names publisher {publisher['member']}, but {member} sent it")
        if publisher["public_key"] != row.public_key:
            raise UnknownSigner(f"the bundle is signed with a key that is not member {member}'s")
        if not isinstance(signature, str) or not verifies(row.public_key, bundle, signature):
            raise SignatureInvalid(f"the signature of skill {bundle['skill_id']} version {bundle['skill_version']} "
                                   f"does not verify against {member}'s key: the bundle changed after signing")
        head = bundle["objects"][0]
        skill = head["metadata"]
        text = " ".join(str(x) for x in (skill.get("name"), skill.get("description"), skill.get("when_to_use"),
                                         skill.get("task_pattern"), *(skill.get("example_tasks") or []),
                                         head.get("content")) if x)
        vector = next((o.get("vector") for o in bundle["objects"][1:2] if o.get("object") == "vector"), None)
        blob = np.asarray(vector, dtype=np.float32).tobytes() if isinstance(vector, list) else None
        seq, fresh = self._store.store_skill(team, bundle["skill_id"], int(bundle["skill_version"]),
                                             str(bundle.get("name", "")), member, row.public_key, signature,
                                             orjson.dumps(bundle), text, blob)
        self._store.report_runs(team, bundle["skill_id"], member, RunCounts(bundle["stats"]["runs"],
                                                                            bundle["stats"]["successes"]))
        return {"skill": bundle["skill_id"], "version": bundle["skill_version"], "signature": signature,
                "stored": fresh, "seq": seq, "signature_status": "verified"}

    def report_runs(self, team: str, member: str, reports: Any) -> dict[str, Any]:
        self._team(team)
        if not isinstance(reports, list) or len(reports) > 10_000:
            raise Invalid("reports is a list of {skill, runs, successes}")
        for r in reports:
            if not isinstance(r, dict) or not isinstance(r.get("skill"), str) or not all(
                    isinstance(r.get(k), int) and 0 <= r[k] < 2**53 for k in ("runs", "successes")):
                raise Invalid("each report is {skill, runs, successes}, counts of 0 or more")
        for r in reports:
            self._store.report_runs(team, r["skill"], member, RunCounts(r["runs"], r["successes"]))
        return {"reported": len(reports)}

    def totals(self, team: str, skill_id: str) -> dict[str, Any]:
        per = self._store.runs_by_member(team, skill_id)
        total = team_totals(per.values())
        return {**total.to_dict(), "success_rate": success_rate(total),
                "members": {m: c.to_dict() for m, c in per.items()}}

    def skills_page(self, team: str, after: int) -> dict[str, Any]:
        """Shared skill versions after `after` (a seq), oldest first, with the signed roster."""
        self._team(team)
        rows = self._store.skills_after(team, after, PAGE_SKILLS + 1)
        more = len(rows) > PAGE_SKILLS
        rows = rows[:PAGE_SKILLS]
        return {"skills": [{"seq": r.seq, "skill": r.skill_id, "version": r.version, "publisher": r.publisher,
                            "public_key": r.public_key, "signature": r.signature, "bundle": orjson.loads(r.bundle),
                            "stats": self.totals(team, r.skill_id)} for r in rows],
                "next": rows[-1].seq if rows else after, "more": more, **self.roster(team)}

    def listing(self, team: str) -> dict[str, Any]:
        """The newest version of each shared skill, with publisher and signature status."""
        self._team(team)
        roster = self.roster(team)["roster"]
        return {"team": team, "skills": [self._listed(team, r, roster) for r in self._store.latest_skills(team)]}

    def _listed(self, team: str, r: SharedSkill, roster: dict[str, str]) -> dict[str, Any]:
        bundle = orjson.loads(r.bundle)
        good = verifies(r.public_key, bundle, r.signature)
        status = "verified" if good and roster.get(r.publisher) == r.public_key else \
            ("publisher_removed" if good else "invalid")
        skill = bundle["objects"][0]["metadata"]
        return {"skill": r.skill_id, "version": r.version, "name": r.name, "description": skill.get("description", ""),
                "publisher": r.publisher, "signature_status": status, "published_at": iso(r.published_at),
                "stats": self.totals(team, r.skill_id), "team": team}

    def search(self, team: str, query: str, vector: list[float] | None, top_k: int) -> dict[str, Any]:
        self._team(team)
        latest = self._store.latest_skills(team)
        by_key = {r.skill_id: r for r in latest}
        texts = [SharedSkillText(r.skill_id, r.search_text,
                                 np.frombuffer(r.vector, dtype=np.float32) if r.vector else None) for r in latest]
        q = np.asarray(vector, dtype=np.float32) if vector else None
        roster = self.roster(team)["roster"]
        hits = rank_skills(query, q, texts, top_k)
        return {"team": team, "skills": [{**self._listed(team, by_key[k], roster), "score": round(score, 6)}
                                         for k, score in hits]}

    def cubes(self, team: str) -> dict[str, Any]:
        self._team(team)
        out = []
        for cube_id in self._store.shared_cubes(team):
            cube = self._registry.get(cube_id)
            if cube is not None:
                out.append({"cube": cube.id, "name": cube.name, "description": cube.description})
        return {"team": team, "cubes": out}

    def cube_page(self, team: str, cube_id: str, cursor: str) -> dict[str, Any]:
        self._team(team)
        if cube_id not in self._store.shared_cubes(team):
            raise NotFound(f"cube {cube_id[:80]} is not shared with team {team}")
        cube = self._registry.get(cube_id)
        if cube is None:
            raise NotFound(f"cube {cube_id} does not exist on this hub")
        return feed_page(self._paths, cube, cursor, self._settings.team_page_size)
