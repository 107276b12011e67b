"""The team parts of one server, built by the runtime: its identity, the hub (when `hub` is set),
the member side, the LAN announcement and the follower that keeps replicas current; plus the
`team` scope of skill listing and search (hub skills of every team this server hubs or belongs to).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from actors.stage_chain import StageChain
from configs import Settings
from pipeline.errors import Invalid, MemosError
from service.access import Access
from service.query_embedder import QueryEmbedder
from service.team.discovery import Announcer
from service.team.hub import HubService
from service.team.identity import load_identity
from service.team.member import MemberService
from storage.hub_store import TeamStore
from storage.paths import DataPaths
from storage.registry import Registry

log = logging.getLogger(__name__)
SCOPES = ("local", "team", "all")


def public_url(s: Settings) -> str:
    if s.public_url:
        return s.public_url.rstrip("/")
    scheme = "https" if s.tls_cert_file else "http"
    host = f"[{s.host}]" if ":" in s.host else s.host
    return f"{scheme}://{host}:{s.port}"


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise Invalid(f"scope must be one of {', '.join(SCOPES)}")
    return scope


class Team:
    def __init__(self, settings: Settings, paths: DataPaths, registry: Registry, access: Access, chain: StageChain,
                 model: str, dim: int, embedder: QueryEmbedder, on_shard_written: Callable[[str], None]) -> None:
        self._settings = settings
        self.store = TeamStore(paths.root / "team.db")
        self.identity = load_identity(paths.root)
        self.url = public_url(settings)
        self.hub = HubService(settings, self.store, self.identity, registry, paths)
        self.member = MemberService(self.store, self.identity, registry, access, paths, chain, model, dim, self.url,
                                    on_shard_written)
        self._embedder = embedder
        self._announcer: Announcer | None = None
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    def start(self) -> None:
        s = self._settings
        if s.hub and s.hub_announce:
            teams = self.hub.teams()
            name = s.hub_name or (teams[0] if teams else f"memos-{self.identity.id[4:12]}")
            self._announcer = Announcer(name, self.url, teams, s.team_interfaces)
            try:
                self._announcer.start()
            except Exception as exc:  # no multicast here (zeroconf raises its own types too): typed URLs still work
                log.warning("mDNS announcement failed: %s: %s", type(exc).__name__, exc)
                self._announcer = None
        if s.team_sync_interval_s > 0:
            self._follower = threading.Thread(target=self._follow, name="team-follower", daemon=True)
            self._follower.start()

    def _follow(self) -> None:
        while not self._stop.wait(self._settings.team_sync_interval_s):
            try:
                self.member.sync_all()
            except Exception:  # keep following; the replica's state records what failed
                log.exception("replica sync failed")

    def stop(self) -> None:
        self._stop.set()
        if self._announcer is not None:
            self._announcer.stop()
        if self._follower is not None:
            self._follower.join(timeout=30)
        self.store.close()

    # --- the `team` scope ---------------------------------------------------------------------

    def _teams(self) -> tuple[list[str], list[str]]:
        """(teams this server hubs, teams it is an approved member of elsewhere)."""
        hubbed = self.hub.teams()
        return hubbed, [t for t in self.member.teams() if t not in hubbed]

    def skills(self) -> list[dict[str, Any]]:
        """The team skills this server can see: the newest version of each, with publisher and signature status."""
        hubbed, joined = self._teams()
        out = [s for team in hubbed for s in self.hub.listing(team)["skills"]]
        for team in joined:
            out += self._remote(team, lambda: self.member.listing(team))
        return [{**s, "scope": "team"} for s in out]

    def search(self, query: str, top_k: int) -> list[dict[str, Any]]:
        hubbed, joined = self._teams()
        if not hubbed and not joined:
            return []
        vector = [float(x) for x in self._embedder.embed(query)]
        out = [s for team in hubbed for s in self.hub.search(team, query, vector, top_k)["skills"]]
        for team in joined:
            out += self._remote(team, lambda: self.member.search(team, query, vector, top_k))
        return sorted(({**s, "scope": "team"} for s in out), key=lambda s: -s.get("score", 0))[:top_k]

    @staticmethod
    def _remote(team: str, call: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """A hub that cannot be reached leaves its skills out of the answer (logged), never fails the search."""
        try:
            return call()
        except MemosError as exc:
            log.warning("team %s skills unavailable: %s: %s", team, exc.code, exc.message)
            return []

    def scoped_search(self, scope: str, query: str, top_k: int, local: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`POST /v1/search` by scope: `local` the cubes only, `team` the team's shared skills only, `all` both."""
        check_scope(scope)
        if scope == "local":
            return local()
        found = local() if scope == "all" else {"results": [], "used_tokens": 0, "cut": [], "took_ms": 0.0,
                                                "timings_ms": {}}
        return {**found, "team_skills": self.search(query, top_k)}

    def scoped_skills(self, scope: str, local: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """`GET /v1/skills` by scope: the local ones (`scope: "local"`), the team's, or both."""
        check_scope(scope)
        if scope == "local":
            return local()
        mine = [{**s, "scope": "local"} for s in local()] if scope == "all" else []
        return mine + self.skills()
