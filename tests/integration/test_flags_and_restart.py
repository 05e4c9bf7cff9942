"""feature_flags, rollout_restart, rollout_status (empty selectors) and metric_watch against the lab.

Case ids refer to ../shared/cases/kubernetes.md.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from conftest import REPO, run_module, run_playbook

from ansible_collections.easymo.rollback.plugins.module_utils._rollout import FLAGS_HASH_ANNOTATION


def flags_namespace(lab, prefix, data, consumers=("web",)):
    ns = lab.namespace(prefix)
    lab.core.create_namespaced_config_map(ns, {"metadata": {"name": "feature-flags"}, "data": data})
    for name in consumers:
        body = {
            "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"terminationGracePeriodSeconds": 1,
                                           "containers": [{"name": "app", "image": "registry.lab/%s:v1" % name,
                                                           "envFrom": [{"configMapRef": {"name": "feature-flags"}}]}]}}},
        }
        lab.apps.create_namespaced_deployment(ns, body)
    lab.wait_done(ns, list(consumers))
    return ns


def cm(lab, ns):
    c = lab.core.read_namespaced_config_map("feature-flags", ns)
    return dict(c.data or {}), c.metadata.resource_version


def test_K07_merge_or_replace_chosen_explicitly_and_diff_shows_both(lab):
    ns = flags_namespace(lab, "k07", {"FLAG_A": "on"}, consumers=())
    merged = run_module("feature_flags", {"namespace": ns, "flags": {"FLAG_B": "on"}, "types": {"FLAG_B": "string"}}, diff=True)
    assert merged["changed"] is True and merged["added"] == ["FLAG_B"] and merged["removed"] == []
    assert cm(lab, ns)[0] == {"FLAG_A": "on", "FLAG_B": "on"}
    assert merged["diff"]["before"] == {"FLAG_A": "on"} and merged["diff"]["after"] == {"FLAG_A": "on", "FLAG_B": "on"}

    replaced = run_module("feature_flags", {"namespace": ns, "flags": {"FLAG_B": "on"}, "types": {"FLAG_B": "string"}, "mode": "replace"}, diff=True)
    assert replaced["changed"] is True and replaced["removed"] == ["FLAG_A"] and replaced["previous"] == {"FLAG_A": "on"}
    assert cm(lab, ns)[0] == {"FLAG_B": "on"}
    assert "FLAG_A" in replaced["diff"]["before"] and "FLAG_A" not in replaced["diff"]["after"]
    again = run_module("feature_flags", {"namespace": ns, "flags": {"FLAG_B": "on"}, "types": {"FLAG_B": "string"}, "mode": "replace"})
    assert again["changed"] is False


def test_K08_data_under_metadata_is_refused(lab):
    ns = flags_namespace(lab, "k08", {"FEATURE_AI_AGENTS": "true"}, consumers=())
    before = cm(lab, ns)
    result = run_module("feature_flags", {"namespace": ns, "definition": {"metadata": {"name": "feature-flags", "data": {"FEATURE_AI_AGENTS": "false"}}}})
    assert result["failed"] is True and "under `metadata`" in result["msg"] and "feature-flags" in result["msg"]
    assert cm(lab, ns) == before


@pytest.mark.parametrize("value", ["15%", 150, -1, "abc"])
def test_bad_rollout_percentages_change_nothing(lab, value):
    ns = flags_namespace(lab, "pct", {"FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "10"})
    before_cm, before_deploy = cm(lab, ns), lab.settle(ns)
    result = run_module("feature_flags", {"namespace": ns, "flags": {"FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": value}, "restart": ["web"]})
    assert result["failed"] is True
    assert "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE" in result["msg"] and "0 to 100" in result["msg"] and "Nothing was changed" in result["msg"]
    assert cm(lab, ns) == before_cm and lab.resource_versions(ns) == before_deploy
    assert "Traceback" not in result["_stdout"] + result["_stderr"]


def test_K21_consumers_restarted_and_reported_pods_on_new_flags(lab):
    ns = flags_namespace(lab, "k21", {"FEATURE_AI_AGENTS": "true", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "10"}, consumers=("web", "worker"))
    result = run_module("feature_flags", {"namespace": ns, "flags": {"FEATURE_AI_AGENTS": False, "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": 0},
                                          "restart": ["web", "worker"]})
    assert result["changed"] is True, result.get("msg")
    assert sorted(result["restarted"]) == ["web", "worker"]
    assert result["previous"] == {"FEATURE_AI_AGENTS": "true", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "10"}
    assert cm(lab, ns)[0] == {"FEATURE_AI_AGENTS": "false", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "0"}
    for row in result["consumers"]:
        assert row["status"] == "rolled_out" and row["pods"] == 2 and row["pods_on_other_flags"] == []
    pods = lab.core.list_namespaced_pod(ns).items
    live = [p for p in pods if not p.metadata.deletion_timestamp]
    assert live and all(p.metadata.annotations[FLAGS_HASH_ANNOTATION] == result["flags_sha256"] for p in live)

    second = run_module("feature_flags", {"namespace": ns, "flags": {"FEATURE_AI_AGENTS": False, "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": 0},
                                          "restart": ["web", "worker"]})
    assert second["changed"] is False and second["restarted"] == []
    assert {r["status"] for r in second["consumers"]} == {"up_to_date"}


def test_paused_consumer_refused_before_flags_change(lab):
    ns = flags_namespace(lab, "paused", {"FEATURE_AI_AGENTS": "true"})
    lab.apps.patch_namespaced_deployment("web", ns, {"spec": {"paused": True}})
    before = cm(lab, ns)
    result = run_module("feature_flags", {"namespace": ns, "flags": {"FEATURE_AI_AGENTS": False}, "restart": ["web"]})
    assert result["failed"] is True and "Deployment %s/web is paused" % ns in result["msg"]
    assert cm(lab, ns) == before


def test_K06_check_mode_flags_and_restart_change_nothing(lab):
    ns = flags_namespace(lab, "k06f", {"FEATURE_AI_AGENTS": "true"})
    before_cm, before = cm(lab, ns), lab.settle(ns)
    flags = run_module("feature_flags", {"namespace": ns, "flags": {"FEATURE_AI_AGENTS": False}, "restart": ["web"]}, check=True, diff=True)
    assert flags["changed"] is True and flags["restarted"] == ["web"] and flags["consumers"][0]["status"] == "would_restart"
    assert flags["diff"]["after"] == {"FEATURE_AI_AGENTS": "false"}
    restart = run_module("rollout_restart", {"namespace": ns, "names": ["web"]}, check=True)
    assert restart["changed"] is True and restart["deployments"][0]["status"] == "would_restart"
    assert cm(lab, ns) == before_cm and lab.settle(ns) == before


def test_K09_restart_twice_within_a_second(lab):
    ns = flags_namespace(lab, "k09", {"A": "1"})
    rev_before = int(lab.get(ns, "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        play = [{"name": "retry loop", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "restart twice", "easymo.rollback.rollout_restart": {"namespace": ns, "names": ["web"], "wait": False},
             "loop": [1, 2], "register": "r"},
            {"name": "wait", "easymo.rollback.rollout_status": {"namespace": ns, "names": ["web"]}},
            {"name": "save", "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out), "mode": "0600"}}]}]
        (Path(tmp) / "play.yml").write_text(json.dumps(play))
        proc = run_playbook(Path(tmp) / "play.yml", "-i", str(REPO / "inventories" / "lab"))
        assert proc.returncode == 0, proc.stdout[-3000:]
        results = json.loads(out.read_text())["results"]
    stamps = [r["deployments"][0]["restarted_at"] for r in results]
    assert all(r["changed"] for r in results) and stamps[0] != stamps[1]
    dep = lab.get(ns, "web")
    assert dep["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == stamps[1]
    assert int(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) == rev_before + 2


def test_restart_is_idempotent_with_restarted_since(lab):
    ns = flags_namespace(lab, "since", {"A": "1"})
    first = run_module("rollout_restart", {"namespace": ns, "names": ["web"], "restarted_since": "2026-01-01T00:00:00Z"})
    assert first["changed"] is True and first["deployments"][0]["status"] == "rolled_out"
    second = run_module("rollout_restart", {"namespace": ns, "names": ["web"], "restarted_since": "2026-01-01T00:00:00Z"})
    assert second["changed"] is False and second["deployments"][0]["status"] == "already_restarted"
    bad = run_module("rollout_restart", {"namespace": ns, "names": ["web"], "restarted_since": "yesterday"})
    assert bad["failed"] is True and "RFC 3339" in bad["msg"]


def test_K05_selector_matching_nothing(lab):
    ns = lab.namespace("k05")
    none = run_module("rollout_status", {"namespace": ns, "label_selector": "app=does-not-exist"})
    assert none["failed"] is True and "0 objects matched" in none["msg"] and "app=does-not-exist" in none["msg"]
    allowed = run_module("rollout_status", {"namespace": ns, "label_selector": "app=does-not-exist", "allow_empty": True})
    assert allowed.get("failed") is not True and allowed["deployments"] == []
    restart = run_module("rollout_restart", {"namespace": ns, "label_selector": "app=does-not-exist"})
    assert restart["failed"] is True and "0 objects matched" in restart["msg"]


def test_metric_watch_html_is_metrics_unavailable_not_a_crash():
    base = os.environ["EASYMO_LAB_STANDINS_URL"]
    result = run_module("metric_watch", {"url": base + "/_lab/html", "path": ".error_rate", "below": 0.01, "interval": 0.5, "timeout": 2})
    assert result["failed"] is True and "metrics unavailable" in result["msg"]
    assert result["series"] and all(s["value"] is None for s in result["series"])
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    ok = run_module("metric_watch", {"url": base + "/metrics/errors", "path": ".error_rate", "below": 1.0, "samples": 2, "interval": 0.5})
    assert ok["passed"] is True and len(ok["series"]) == 2 and isinstance(ok["last_value"], float)


def test_hand_restart_on_other_flags_is_caught_by_the_next_kill_switch(lab):
    """Flags off (ours), then by hand: flags on + rollout restart. The next kill switch must restart again,
    although the template still carries the hash of the 'off' flags."""
    ns = flags_namespace(lab, "hand", {"FEATURE_AI_AGENTS": "true"})
    off = {"namespace": ns, "flags": {"FEATURE_AI_AGENTS": False}, "restart": ["web"]}
    assert run_module("feature_flags", off)["restarted"] == ["web"]
    lab.core.patch_namespaced_config_map("feature-flags", ns, {"data": {"FEATURE_AI_AGENTS": "true"}})
    lab.restart(ns, "web")
    lab.wait_done(ns, ["web"])
    again = run_module("feature_flags", off)
    assert again["changed"] is True and again["restarted"] == ["web"], again.get("msg")
    assert again["consumers"][0]["pods_on_other_flags"] == [] and again["consumers"][0]["status"] == "rolled_out"
    assert run_module("feature_flags", off)["changed"] is False


def test_old_flags_hash_on_the_template_after_a_rollback_causes_no_restart(lab):
    """A Deployment rollback brings back an old revision's flags-hash annotation; its pods still started after the
    flags were last written, so they run the current flags and a flags run must not restart them again."""
    ns = lab.namespace("flags-after-rollback")
    lab.core.create_namespaced_config_map(ns, {"metadata": {"name": "feature-flags"}, "data": {"FEATURE_AI_AGENTS": "true"}})
    time.sleep(1.2)  # the pods start in a later second than the ConfigMap's last write
    lab.apps.create_namespaced_deployment(ns, {
        "metadata": {"name": "agent"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}, "annotations": {FLAGS_HASH_ANNOTATION: "hash-of-an-old-revision"}},
                              "spec": {"terminationGracePeriodSeconds": 1,
                                       "containers": [{"name": "app", "image": "registry.lab/agent:v1",
                                                       "envFrom": [{"configMapRef": {"name": "feature-flags"}}]}]}}}})
    lab.wait_done(ns, ["agent"])
    before = lab.get(ns, "agent")["metadata"]["generation"]
    result = run_module("feature_flags", {"namespace": ns, "flags": {"FEATURE_AI_AGENTS": True}, "restart": ["agent"]})
    assert result["changed"] is False and result["restarted"] == []
    assert result["consumers"][0]["status"] == "up_to_date" and result["consumers"][0]["pods_on_other_flags"] == []
    assert lab.get(ns, "agent")["metadata"]["generation"] == before
    # Changing a flag still restarts it: its pods are now older than the write.
    changed = run_module("feature_flags", {"namespace": ns, "flags": {"FEATURE_AI_AGENTS": False}, "restart": ["agent"]})
    assert changed["restarted"] == ["agent"] and "started before the flags were last written" in changed["consumers"][0]["reason"]
