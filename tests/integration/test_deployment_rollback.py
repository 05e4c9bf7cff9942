"""deployment_rollback, rollout_status and rollout_history_info against the lab's real control plane.

Case ids refer to ../shared/cases/kubernetes.md.
"""

from __future__ import annotations

import json
import threading
import time

from conftest import run_module

from ansible_collections.easymo.rollback.plugins.module_utils._rollout import TARGET_ANNOTATION


def two_revisions(lab, ns, name, good="v1", bad="v2", **kw):
    lab.deployment(ns, name, "registry.lab/%s:%s" % (name, good), **kw)
    lab.wait_done(ns, [name])
    lab.set_image(ns, name, "registry.lab/%s:%s" % (name, bad))
    lab.wait_revision(ns, name, 2)
    lab.wait_done(ns, [name])


def test_K13_second_rollback_changes_nothing_and_bad_never_returns(lab):
    ns = lab.namespace("k13")
    two_revisions(lab, ns, "web")
    first = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})
    assert first["changed"] is True, first["msg"] if "msg" in first else first
    row = first["deployments"][0]
    assert row["status"] == "rolled_out"
    assert row["images_from"] == {"app": "registry.lab/web:v2"} and row["images_to"] == {"app": "registry.lab/web:v1"}
    assert row["revision_from"] == 2 and row["revision_to"] == 1 and row["revision_after"] == 3
    assert lab.image(ns, "web") == "registry.lab/web:v1"
    record = json.loads(lab.get(ns, "web")["metadata"]["annotations"][TARGET_ANNOTATION])
    assert record["images"] == {"app": "registry.lab/web:v1"}

    second = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})
    assert second["changed"] is False
    assert second["deployments"][0]["status"] == "already_at_target"
    assert "already at" in second["deployments"][0]["message"]
    assert lab.image(ns, "web") == "registry.lab/web:v1"


def test_K14_to_revision_after_renumbering_is_no_change(lab):
    ns = lab.namespace("k14")
    two_revisions(lab, ns, "web")
    assert run_module("deployment_rollback", {"namespace": ns, "names": ["web"], "to_revision": 1})["changed"] is True
    lab.wait_revision(ns, "web", 3)
    again = run_module("deployment_rollback", {"namespace": ns, "names": ["web"], "to_revision": 1})
    assert again.get("failed") is not True, again.get("msg")
    assert again["changed"] is False
    assert lab.image(ns, "web") == "registry.lab/web:v1"


def test_K15_history_limit_lands_on_right_template(lab):
    ns = lab.namespace("k15")
    lab.deployment(ns, "web", "registry.lab/web:A", history_limit=2)
    lab.wait_done(ns, ["web"])
    for n, tag in ((2, "B"), (3, "C")):
        lab.set_image(ns, "web", "registry.lab/web:" + tag)
        lab.wait_revision(ns, "web", n)
        lab.wait_done(ns, ["web"])
    back = run_module("deployment_rollback", {"namespace": ns, "names": ["web"], "target_images": {"app": "registry.lab/web:A"}})
    assert back["changed"] is True and lab.image(ns, "web") == "registry.lab/web:A"
    lab.set_image(ns, "web", "registry.lab/web:D")
    lab.wait_revision(ns, "web", 5)
    lab.wait_done(ns, ["web"])
    again = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})
    assert again["changed"] is True, again.get("msg")
    assert again["deployments"][0]["images_to"] == {"app": "registry.lab/web:A"}
    assert lab.image(ns, "web") == "registry.lab/web:A"


def test_K25_gap_in_history_rolls_back_to_what_is_left(lab):
    ns = lab.namespace("k25")
    lab.deployment(ns, "web", "registry.lab/web:v1")
    lab.wait_done(ns, ["web"])
    for n in (2, 3, 4):
        lab.set_image(ns, "web", "registry.lab/web:v%d" % n)
        lab.wait_revision(ns, "web", n)
        lab.wait_done(ns, ["web"])
    for rs in lab.replicasets(ns):
        if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] in ("1", "3"):
            lab.apps.delete_namespaced_replica_set(rs["metadata"]["name"], ns)
    lab.apps.patch_namespaced_deployment("web", ns, {"spec": {"revisionHistoryLimit": 1}})
    result = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})
    assert result["changed"] is True, result.get("msg")
    assert result["deployments"][0]["revision_to"] == 2
    assert lab.image(ns, "web") == "registry.lab/web:v2"


def test_K26_restart_then_rollback_lands_on_previous_image(lab):
    ns = lab.namespace("k26")
    two_revisions(lab, ns, "web")
    lab.restart(ns, "web")
    lab.wait_revision(ns, "web", 3)
    lab.wait_done(ns, ["web"])
    result = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})
    assert result["changed"] is True
    assert result["deployments"][0]["revision_to"] == 1
    assert lab.image(ns, "web") == "registry.lab/web:v1"


def test_K22_annotations_survive(lab):
    ns = lab.namespace("k22")
    last_applied = json.dumps({"kind": "Deployment", "metadata": {"name": "web"}})
    two_revisions(lab, ns, "web", annotations={"team": "payments", "kubectl.kubernetes.io/last-applied-configuration": last_applied})
    assert run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})["changed"] is True
    ann = lab.get(ns, "web")["metadata"]["annotations"]
    assert ann["team"] == "payments"
    assert ann["kubectl.kubernetes.io/last-applied-configuration"] == last_applied


def test_K12_paused_refused_then_resumed_on_request(lab):
    ns = lab.namespace("k12")
    two_revisions(lab, ns, "web")
    lab.apps.patch_namespaced_deployment("web", ns, {"spec": {"paused": True}})
    before = lab.settle(ns)
    refused = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})
    assert refused["failed"] is True
    assert "Deployment %s/web is paused" % ns in refused["msg"]
    assert "resume_paused" in refused["msg"] and "Nothing was changed" in refused["msg"]
    assert lab.resource_versions(ns) == before
    assert "Traceback" not in refused["_stdout"] + refused["_stderr"]

    resumed = run_module("deployment_rollback", {"namespace": ns, "names": ["web"], "resume_paused": True})
    assert resumed["changed"] is True and resumed["deployments"][0]["status"] == "rolled_out"
    dep = lab.get(ns, "web")
    assert not dep["spec"].get("paused") and lab.image(ns, "web") == "registry.lab/web:v1"


def test_K23_template_not_matching_selector_refused_before_patching(lab):
    ns = lab.namespace("k23")
    lab.deployment(ns, "web", "registry.lab/web:v1")
    lab.wait_done(ns, ["web"])
    for n in (2, 3):
        lab.set_image(ns, "web", "registry.lab/web:v%d" % n)
        lab.wait_revision(ns, "web", n)
        lab.wait_done(ns, ["web"])
    dep = lab.get(ns, "web")
    for rs in lab.replicasets(ns):
        if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2":
            lab.apps.delete_namespaced_replica_set(rs["metadata"]["name"], ns)
    # An owned ReplicaSet left from a time when the pods were labelled differently (old apiVersions let
    # the selector change): its own labels keep it adopted, its pod template no longer matches.
    legacy = {
        "metadata": {"name": "web-legacy", "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "2"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": dep["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app-legacy": "web"}},
                 "template": {"metadata": {"labels": {"app-legacy": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "registry.lab/web:v2"}]}}},
    }
    lab.apps.create_namespaced_replica_set(ns, legacy)
    time.sleep(1)
    before = lab.get(ns, "web")["metadata"]["resourceVersion"]
    refused = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]})
    assert refused["failed"] is True
    assert "do not match the Deployment's selector" in refused["msg"] and "%s/web" % ns in refused["msg"]
    assert lab.get(ns, "web")["metadata"]["resourceVersion"] == before
    assert lab.image(ns, "web") == "registry.lab/web:v3"


def test_K01_label_selector_rolls_each_back_by_its_own_name(lab):
    ns = lab.namespace("k01")
    for name in ("shop", "blog"):
        lab.deployment(ns, name, "registry.lab/%s:v1" % name, labels={"app": name, "tier": "web"})
    lab.wait_done(ns, ["shop", "blog"])
    for name in ("shop", "blog"):
        lab.set_image(ns, name, "registry.lab/%s:v2" % name)
    lab.wait_done(ns, ["shop", "blog"])
    result = run_module("deployment_rollback", {"namespace": ns, "label_selector": "tier=web"})
    assert result["changed"] is True, result.get("msg")
    assert sorted(r["name"] for r in result["deployments"]) == ["blog", "shop"]
    for name in ("shop", "blog"):
        assert lab.image(ns, name) == "registry.lab/%s:v1" % name
    nothing = run_module("deployment_rollback", {"namespace": ns, "label_selector": "tier=none"})
    assert nothing["failed"] is True and "0 objects matched" in nothing["msg"] and "tier=none" in nothing["msg"]


def test_K24_eleven_services_each_get_their_own_previous_template(lab):
    ns = lab.namespace("k24")
    names = ["svc-%02d" % i for i in range(11)]
    for name in names:
        # Every pod template shares labels beyond `app`, the trap for matching by label keys.
        lab.deployment(ns, name, "registry.lab/%s:good" % name, replicas=1, labels={"app": name, "part-of": "easymo"})
    lab.wait_done(ns, names)
    for name in names:
        lab.set_image(ns, name, "registry.lab/%s:bad" % name)
    lab.wait_done(ns, names)
    result = run_module("deployment_rollback", {"namespace": ns, "names": list(reversed(names))})
    assert result["changed"] is True, result.get("msg")
    assert [r["name"] for r in result["deployments"]] == list(reversed(names))
    for name in names:
        assert lab.image(ns, name) == "registry.lab/%s:good" % name


def test_K06_check_mode_changes_nothing_but_reports_realistically(lab):
    ns = lab.namespace("k06")
    two_revisions(lab, ns, "web")
    before = lab.settle(ns)
    result = run_module("deployment_rollback", {"namespace": ns, "names": ["web"]}, check=True, diff=True)
    assert result["changed"] is True
    assert result["deployments"][0]["status"] == "would_roll_back"
    assert result["diff"]["before"]["%s/web" % ns]["images"] == {"app": "registry.lab/web:v2"}
    assert result["diff"]["after"]["%s/web" % ns]["images"] == {"app": "registry.lab/web:v1"}
    status = run_module("rollout_status", {"namespace": ns, "names": ["web"]}, check=True)
    assert status["changed"] is False and status["all_ready"] is True
    history = run_module("rollout_history_info", {"namespace": ns, "names": ["web"]}, check=True)
    assert history["deployments"][0]["rollback_plan"]["images_to"] == {"app": "registry.lab/web:v1"}
    time.sleep(1)
    assert lab.resource_versions(ns) == before
    assert lab.image(ns, "web") == "registry.lab/web:v2"


def test_K16_rollback_from_never_ready_release_succeeds_when_old_pods_are_available(lab):
    ns = lab.namespace("k16")
    lab.deployment(ns, "web", "registry.lab/web:v1", replicas=3)
    lab.wait_done(ns, ["web"])
    lab.set_image(ns, "web", "registry.lab/web:broken", template_annotations={"lab.easymo.com/never-ready": "true"})
    lab.wait_revision(ns, "web", 2)
    time.sleep(1)
    result = run_module("deployment_rollback", {"namespace": ns, "names": ["web"], "wait_timeout": 60})
    assert result["changed"] is True and result["deployments"][0]["status"] == "rolled_out", result.get("msg")
    assert result["deployments"][0]["seconds"] < 60
    assert "leftovers" in result["deployments"][0]
    assert lab.image(ns, "web") == "registry.lab/web:v1"


def test_K17_progress_deadline_exceeded_is_its_own_failure(lab):
    ns = lab.namespace("k17")
    # The known-good release starts slowly (pods need 20 s to become ready); the deadline is 3 s.
    lab.deployment(ns, "web", "registry.lab/web:v1", replicas=1, template_annotations={"lab.easymo.com/ready-delay": "20s"})
    lab.wait_done(ns, ["web"], timeout=90)
    lab.set_image(ns, "web", "registry.lab/web:v2", template_annotations={})
    lab.apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"metadata": {"annotations": None}}}})
    lab.wait_done(ns, ["web"])
    lab.apps.patch_namespaced_deployment("web", ns, {"spec": {"progressDeadlineSeconds": 3}})
    started = time.monotonic()
    result = run_module("deployment_rollback", {"namespace": ns, "names": ["web"], "wait_timeout": 60})
    elapsed = time.monotonic() - started
    assert result["failed"] is True
    row = result["deployments"][0]
    assert row["status"] == "failed"
    assert row["message"].startswith("ProgressDeadlineExceeded")
    assert "timed out" not in row["message"]
    assert elapsed < 60  # reported when the controller said so, not at our own deadline


def test_K10_several_deployments_one_deadline_per_deployment_result(lab):
    ns = lab.namespace("k10")
    for name in ("fast-a", "fast-b"):
        lab.deployment(ns, name, "registry.lab/%s:v1" % name, replicas=2)
    lab.deployment(ns, "stuck", "registry.lab/stuck:v1", replicas=1, template_annotations={"lab.easymo.com/never-ready": "true"})
    started = time.monotonic()
    result = run_module("rollout_status", {"namespace": ns, "names": ["fast-a", "stuck", "fast-b"], "wait_timeout": 8})
    elapsed = time.monotonic() - started
    assert result["failed"] is True
    rows = {r["name"]: r for r in result["deployments"]}
    assert rows["fast-a"]["state"] == "done" and rows["fast-b"]["state"] == "done"
    assert rows["stuck"]["state"] == "timeout" and "timed out after 8 s" in rows["stuck"]["message"]
    assert rows["fast-a"]["seconds"] < 8
    assert rows["stuck"]["pods"]["not_ready"], "the stuck pod is listed with its phase"
    assert elapsed < 8 + 15  # one deadline for all, plus Ansible's start-up
    assert "stuck" in result["msg"]


def test_K27_deleted_while_waiting_is_reported(lab):
    ns = lab.namespace("k27")
    lab.deployment(ns, "web", "registry.lab/web:v1", replicas=1, template_annotations={"lab.easymo.com/never-ready": "true"})
    lab.set_image(ns, "web", "registry.lab/web:v2", template_annotations={})
    lab.apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"metadata": {"annotations": None}}}})
    lab.wait_done(ns, ["web"])

    def delete_soon():
        time.sleep(6)
        lab.apps.delete_namespaced_deployment("web", ns)

    threading.Thread(target=delete_soon, daemon=True).start()
    result = run_module("deployment_rollback", {"namespace": ns, "names": ["web"], "wait_timeout": 60})
    assert result["failed"] is True
    assert result["deployments"][0]["status"] == "deleted"
    assert "deleted while waiting" in result["msg"]
    assert "Traceback" not in result["_stdout"] + result["_stderr"]


def test_unknown_names_fail_before_anything_changes(lab):
    ns = lab.namespace("names")
    two_revisions(lab, ns, "web")
    before = lab.settle(ns)
    result = run_module("deployment_rollback", {"namespace": ns, "names": ["web", "does-not-exist"]})
    assert result["failed"] is True
    assert "does-not-exist" in result["msg"] and ns in result["msg"]
    assert lab.resource_versions(ns) == before
