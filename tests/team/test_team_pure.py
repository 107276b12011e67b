"""The pure parts of team sharing (pipeline/team/) and its store (storage/hub_store.py), without servers."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.errors import Invalid, Unauthorized
from pipeline.team.bundle import check_bundle, pulled_objects, skill_bundle
from pipeline.team.credentials import new_credential, new_join_token, parse_credential, parse_join_token
from pipeline.team.cursor import Position, lag, parse_cursor
from pipeline.team.signing import public_text, server_id, sign, verifies
from pipeline.team.skill_search import SharedSkillText, rank_skills
from pipeline.team.stats import RunCounts, newer_report, own_counts, team_totals
from service.team.identity import load_identity
from storage.hub_store import TeamStore


def skill_memory(version: int = 2) -> dict:
    return {"object": "memory", "id": "skill-deploy", "tier": "skill", "kind": "skill", "version": version,
            "agent": "alice", "content": "Deploy a service", "source_ids": ["e1", "e2"],
            "temporal": {"created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-02T00:00:00.000Z"},
            "metadata": {"id": "skill-deploy", "name": "deploy", "steps": [{"tool": "build", "arguments": {}}],
                         "parameters": {"type": "object"}, "runs": 7, "successes": 6, "success_rate": 0.857,
                         "examples": ["e1", "e2"], "failures": ["e3"], "example_tasks": ["Deploy api"]}}


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def bundle_of(key: Ed25519PrivateKey) -> dict:
    publisher = {"member": server_id(public_text(key.public_key())), "public_key": public_text(key.public_key())}
    return skill_bundle("platform", publisher, skill_memory(), None, [], RunCounts(7, 6), "2026-01-03T00:00:00.000Z")


def test_a_signed_bundle_verifies_and_any_change_breaks_the_signature(key):
    bundle = bundle_of(key)
    signature = sign(key, bundle)
    assert verifies(bundle["publisher"]["public_key"], bundle, signature)
    assert verifies(bundle["publisher"]["public_key"], copy.deepcopy(bundle), signature)  # key order is irrelevant
    changed = copy.deepcopy(bundle)
    changed["objects"][0]["metadata"]["steps"][0]["tool"] = "exfiltrate"
    assert not verifies(bundle["publisher"]["public_key"], changed, signature)
    other = public_text(Ed25519PrivateKey.generate().public_key())
    assert not verifies(other, bundle, signature)
    assert not verifies("not-a-key", bundle, signature) and not verifies(other, bundle, "garbage")


def test_a_bundle_holds_the_skill_its_stats_and_a_provenance_summary_without_traces(key):
    bundle = check_bundle(bundle_of(key))
    assert (bundle["skill_id"], bundle["skill_version"], bundle["stats"]) == ("skill-deploy", 2,
                                                                              {"runs": 7, "successes": 6})
    assert bundle["provenance"] == {"agent": "alice", "examples": 2, "failures": 1, "example_tasks": ["Deploy api"],
                                    "source_count": 2, "created_at": "2026-01-01T00:00:00.000Z",
                                    "updated_at": "2026-01-02T00:00:00.000Z", "traces_included": False}
    assert [o["object"] for o in bundle["objects"]] == ["memory"]


@pytest.mark.parametrize("breakage, message", [
    (lambda b: b.update(format="zip"), "bundle format"),
    (lambda b: b.update(version="2.0"), "is not 1.x"),
    (lambda b: b["objects"].clear(), "list of 1 to"),
    (lambda b: b.update(skill_version=9), "skill_version"),
    (lambda b: b["publisher"].update(member="alice"), "publisher"),
    (lambda b: b["stats"].update(runs=-1), "stats"),
    (lambda b: b["objects"][0]["metadata"].pop("steps"), "steps"),
])
def test_a_malformed_bundle_is_refused_naming_the_problem(key, breakage, message):
    bundle = bundle_of(key)
    breakage(bundle)
    with pytest.raises(Invalid, match=message):
        check_bundle(bundle)


def test_a_pulled_skill_carries_the_team_totals_as_its_baseline(key):
    objects = pulled_objects(bundle_of(key), RunCounts(12, 10), "platform")
    skill = objects[0]["metadata"]
    assert (skill["runs"], skill["successes"], skill["success_rate"]) == (12, 10, 0.8333)
    assert skill["team"]["baseline"] == {"runs": 12, "successes": 10}
    assert own_counts(15, 12, skill["team"]["baseline"]) == RunCounts(3, 2)  # only what this member ran


def test_run_counts_are_summed_across_members_and_a_late_smaller_report_lowers_nothing():
    assert newer_report(RunCounts(6, 5), RunCounts(4, 4)) == RunCounts(6, 5)
    assert newer_report(None, RunCounts(4, 4)) == RunCounts(4, 4)
    assert team_totals([RunCounts(6, 5), RunCounts(3, 1)]) == RunCounts(9, 6)


def test_join_tokens_and_credentials_read_back_and_garbage_is_unauthorized():
    token, secret = new_join_token("platform.eu")
    assert parse_join_token(token) == ("platform.eu", secret)
    credential, secret = new_credential("srv-0123456789abcdef0123")
    assert parse_credential(f"Bearer {credential}") == ("srv-0123456789abcdef0123", secret)
    for bad in ("", "mjt.x", token + "x"):
        with pytest.raises(Unauthorized):
            parse_join_token(bad)
    with pytest.raises(Unauthorized):
        parse_credential("Bearer mk_abc")


def test_cursor_positions_read_back_and_lag_counts_what_is_left():
    start = parse_cursor("")
    assert start is None and lag(start, 40) == 40
    snap = Position(True, 40, (1_700_000_000_000, "kb-note.1"))
    assert parse_cursor(snap.text()) == snap and lag(snap, 40) == 40
    feed = Position(False, 35)
    assert parse_cursor(feed.text()) == feed and lag(feed, 40) == 5
    with pytest.raises(Invalid):
        parse_cursor("feed.x")


def test_shared_skills_rank_by_words_and_vectors():
    v = np.eye(4, dtype=np.float32)
    skills = [SharedSkillText("deploy", "deploy a service with a tag", v[0]),
              SharedSkillText("backup", "back up the postgres database", v[1])]
    assert [k for k, _ in rank_skills("deploy the api service", v[0], skills, 5)][0] == "deploy"
    assert [k for k, _ in rank_skills("postgres", None, skills, 5)] == ["backup"]


def test_the_identity_key_is_made_once_and_only_its_owner_reads_it(tmp_path):
    first = load_identity(tmp_path)
    assert load_identity(tmp_path).public_key == first.public_key
    assert oct(os.stat(tmp_path / "team" / "identity.key").st_mode & 0o777) == "0o600"
    assert first.id == server_id(first.public_key)


def test_the_store_sums_members_keeps_one_report_each_and_hands_a_credential_over_once(tmp_path):
    store = TeamStore(tmp_path / "team.db")
    assert oct(os.stat(tmp_path / "team.db").st_mode & 0o777) == "0o600"
    store.create_team("platform", "s3cret")
    assert store.token_matches("platform", "s3cret") and not store.token_matches("platform", "guess")
    store.report_runs("platform", "skill-a", "srv-a", RunCounts(5, 5))
    store.report_runs("platform", "skill-a", "srv-a", RunCounts(6, 6))
    store.report_runs("platform", "skill-a", "srv-a", RunCounts(2, 2))  # late and smaller: lowers nothing
    store.report_runs("platform", "skill-a", "srv-b", RunCounts(3, 1))
    assert store.runs_by_member("platform", "skill-a") == {"srv-a": RunCounts(6, 6), "srv-b": RunCounts(3, 1)}
    store.add_member("platform", "srv-a", "a", "http://a", "key")
    store.decide("platform", "srv-a", "approved", "secret", "mcr_srv-a_secret")
    assert store.collect_credential("platform", "srv-a") == "mcr_srv-a_secret"
    assert store.collect_credential("platform", "srv-a") is None
    store.close()
