"""MemOS local plugin bundles `{version: 1, exportedAt, traces, policies, worldModels, skills}`: a
bundle reads as episodes of turns and notes of its derived tiers; our export written as a bundle
passes the plugin's own import filters and reads back as exactly what was written."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import Invalid
from pipeline.interchange.formats import memos_plugin
from tests.pipeline.interchange.foreign_fixtures import DATA, checked, links, memories, of, our_export

BUNDLE = DATA / "memos_plugin" / "memos-export-2026-05-08.json"


def test_a_bundle_becomes_episodes_of_turns_and_notes_of_its_policies_world_models_and_skills():
    objects = checked(memos_plugin.read(BUNDLE))
    assert of(objects, "episode") == [
        {"object": "episode", "id": "ep_a1b2c3d4e5f6", "task": "Deploy the api service with tag 1.4.2 to staging.",
         "outcome": "success", "opened_at": "2026-05-08T08:00:00.000Z", "closed_at": "2026-05-08T08:01:00.000Z"},
        {"object": "episode", "id": "ep_f6e5d4c3b2a1", "task": "Ich trinke meinen Kaffee schwarz, ohne Zucker.",
         "outcome": "unknown", "opened_at": "2026-05-08T08:46:40.000Z"}]
    mems = memories(objects)
    turn = [m for m in mems.values() if m.get("episode") == "ep_a1b2c3d4e5f6"]
    assert [(m["id"], m["kind"], m["temporal"]["created_at"]) for m in turn] == [
        ("tr_9h2k4m6p8r0t-user", "message", "2026-05-08T08:00:00.000Z"),
        ("tr_9h2k4m6p8r0t-tool-0", "tool_call", "2026-05-08T08:00:00.001Z"),
        ("tr_9h2k4m6p8r0t-tool-1", "tool_call", "2026-05-08T08:00:00.002Z"),
        ("tr_9h2k4m6p8r0t-agent", "message", "2026-05-08T08:00:00.003Z"),
        ("tr_9h2k4m6p8r0v-user", "message", "2026-05-08T08:01:00.000Z"),
        ("tr_9h2k4m6p8r0v-tool-0", "tool_call", "2026-05-08T08:01:00.001Z"),
        ("tr_9h2k4m6p8r0v-agent", "message", "2026-05-08T08:01:00.002Z")]
    first = mems["tr_9h2k4m6p8r0t-user"]
    assert first["content"] == "Deploy the api service with tag 1.4.2 to staging." and first["tags"] == ["deploy",
                                                                                                         "staging"]
    assert first["metadata"]["role"] == "user"
    assert {k: first["metadata"]["memos_plugin"][k] for k in ("trace_id", "value", "alpha", "rHuman", "priority",
                                                              "reflection", "sessionId")} == {
        "trace_id": "tr_9h2k4m6p8r0t", "value": 0.82, "alpha": 0.6, "rHuman": 1, "priority": 0.74,
        "reflection": "The deploy followed the runbook.", "sessionId": "se_openclaw_main_s1"}
    assert mems["tr_9h2k4m6p8r0t-tool-0"]["tool"] == {"name": "kubectl_apply", "arguments": {
        "manifest": "deploy/api.yaml", "tag": "1.4.2"}, "result": "deployment.apps/api configured", "status": "ok",
        "duration_ms": 2500}
    assert mems["tr_9h2k4m6p8r0t-tool-1"]["tool"]["result"] == {"status": 200, "body": "ok"}
    failed = mems["tr_9h2k4m6p8r0v-tool-0"]
    assert failed["tool"]["status"] == "error" and failed["metadata"]["errorCode"] == "forbidden"
    assert mems["tr_9h2k4m6p8r0t-agent"]["metadata"]["thinking"] == "Apply the manifest first, then check health."
    assert mems["tr_5q7s9u1w3y5z-user"]["content"] == "Ich trinke meinen Kaffee schwarz, ohne Zucker."
    policy, world, skill = mems["po_3c5e7g9j1l3n"], mems["wm_7d9f1h3k5m7p"], mems["sk_2b4d6f8h0k2m"]
    assert policy["kind"] == world["kind"] == skill["kind"] == "note"
    assert policy["content"].splitlines() == [
        "Check registry credentials before a production rollout",
        "Trigger: A rollout to the prod context is requested.",
        "Procedure: 1. Run kubectl get secret regcred -n prod.", "2. Apply the manifest.",
        "3. Watch the rollout status.", "Verification: kubectl rollout status deploy/api -n prod succeeds.",
        "Boundary: Only for clusters that pull from the private registry.", "Prefer: Verify the pull secret first",
        "Avoid: Retrying the rollout without fixing credentials"]
    assert "environment: prod — Private registry behind regcred." in world["content"]
    assert skill["metadata"]["memos_plugin"]["skill"]["trialsPassed"] == 2 and skill["tags"] == ["skill"]
    assert links(objects) == {
        ("po_3c5e7g9j1l3n", "derived_from", "tr_9h2k4m6p8r0v-user"),
        ("wm_7d9f1h3k5m7p", "derived_from", "po_3c5e7g9j1l3n"),
        ("sk_2b4d6f8h0k2m", "derived_from", "tr_9h2k4m6p8r0t-user"),
        ("sk_2b4d6f8h0k2m", "derived_from", "tr_9h2k4m6p8r0v-user"),
        ("sk_2b4d6f8h0k2m", "derived_from", "po_3c5e7g9j1l3n")}


def test_a_bundle_of_another_version_is_refused(tmp_path):
    doc = json.loads(BUNDLE.read_text())
    doc["version"] = 2
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(Invalid, match=r"^b.json: version: bundle version 2 is not 1"):
        list(memos_plugin.read(path))


def test_a_cut_bundle_and_a_trace_without_its_episode_are_named(tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_bytes(BUNDLE.read_bytes()[:2000])
    with pytest.raises(Invalid, match=r"^cut.json: character \d+: the file ends inside this value"):
        list(memos_plugin.read(cut))
    doc = json.loads(BUNDLE.read_text())
    del doc["traces"][1]["episodeId"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(Invalid, match=r"^bad.json: traces\[1\]: id and episodeId are required"):
        list(memos_plugin.read(bad))


def test_our_export_as_a_bundle_passes_the_plugins_own_import_checks(tmp_path):
    path = tmp_path / "memos-export.json"
    assert memos_plugin.write(iter(our_export()), path) == 10
    doc = json.loads(path.read_text())
    assert doc["version"] == 1 and isinstance(doc["exportedAt"], int) and doc["policies"] == []
    # core/pipeline/memory-core.ts importBundle keeps a trace only with id, episodeId and sessionId,
    # and the other arrays' rows only with an id; what it copies must have the DTO's types.
    for t in doc["traces"]:
        assert t["id"] and t["episodeId"] and t["sessionId"] and isinstance(t["ts"], int) and t["turnId"] == t["ts"]
        assert isinstance(t["userText"], str) and isinstance(t["agentText"], str) and isinstance(t["tags"], list)
        assert all(c["name"] and isinstance(c["input"], dict) for c in t["toolCalls"])
    turns = {t["id"]: t for t in doc["traces"]}
    deploy = turns["m-user-1"]
    assert deploy["userText"] == "I moved to Lisbon last month — adoro a cidade."
    assert deploy["agentText"] == "The blog now runs on the new host."
    assert deploy["toolCalls"] == [{"name": "bash", "input": {"command": "rsync -a blog/ new:/srv/blog"},
                                    "output": {"exit": 0, "stdout": "sent 4.2M"}, "toolCallId": "m-tool-1",
                                    "startedAt": deploy["ts"] + 10_000, "endedAt": deploy["ts"] + 12_300}]
    assert turns["m-persona"]["userText"] == "I'm Dana, a data engineer who likes terse answers."
    assert turns["summary-ep-deploy"]["agentText"] == "Goal: move the blog. Result: success."
    worlds = {w["id"]: w for w in doc["worldModels"]}
    assert sorted(worlds) == ["fact-likes", "fact-new", "fact-old"]
    assert worlds["fact-old"]["status"] == "archived" and worlds["fact-new"]["status"] == "active"
    assert worlds["fact-new"]["structure"]["environment"][0] == {
        "label": "Dana lives_in Lisbon", "description": "Dana lives in Lisbon.", "evidenceIds": ["m-user-1"]}
    [skill] = doc["skills"]
    assert (skill["name"], skill["trialsAttempted"], skill["trialsPassed"], skill["eta"], skill["version"]) == \
        ("restart_service", 4, 3, 0.75, 2)
    assert skill["invocationGuide"].endswith("Steps: bash; bash")


def test_our_bundle_reads_back_as_exactly_what_was_written(tmp_path):
    written = our_export()
    path = tmp_path / "bundle.json"
    memos_plugin.write(iter(written), path)
    back = checked(memos_plugin.read(path))
    key = lambda o: json.dumps(o, sort_keys=True)  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, written))


def test_our_bundle_stripped_of_our_extras_still_reads_as_a_plugin_bundle(tmp_path):
    """What the plugin itself exports again after importing ours: no `memos` keys survive its import."""
    path = tmp_path / "bundle.json"
    memos_plugin.write(iter(our_export()), path)
    doc = json.loads(path.read_text())
    plain = {k: doc[k] for k in ("version", "exportedAt", "traces", "policies", "worldModels", "skills")}
    for array in ("traces", "worldModels", "skills"):
        for dto in plain[array]:
            dto.pop("memos")
    path.write_text(json.dumps(plain))
    objects = checked(memos_plugin.read(path))
    mems = memories(objects)
    assert mems["m-user-1-user"]["content"] == "I moved to Lisbon last month — adoro a cidade."
    assert mems["m-user-1-tool-0"]["tool"]["name"] == "bash"
    assert mems["fact-new"]["kind"] == "note" and mems["fact-new"]["content"].startswith("Dana lives in Lisbon.")
