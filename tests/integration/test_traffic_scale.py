"""traffic_scale against the lab: Method 5's stop and restore of traffic, each Deployment back at its own count."""

from __future__ import annotations

from conftest import run_module
from kubernetes import client

from ansible_collections.easymo.rollback.plugins.module_utils._scale import RECORD_ANNOTATION


def replicas(lab, ns):
    return {d.metadata.name: d.spec.replicas for d in lab.apps.list_namespaced_deployment(ns).items}


def pods(lab, ns):
    return sorted(p.metadata.name for p in lab.core.list_namespaced_pod(ns).items)


def test_stop_waits_for_no_pod_and_restore_brings_back_each_count(lab):
    ns = lab.namespace("scale")
    for name, count in (("agent-core", 3), ("wallet-service", 2), ("ranking-service", 1), ("idle-worker", 0)):
        lab.deployment(ns, name, "registry.easymo.lab/%s:v1" % name, replicas=count, labels={"app": name, "tier": "easymo"})
    lab.wait_done(ns, ["agent-core", "wallet-service", "ranking-service", "idle-worker"])
    client.AutoscalingV2Api(lab.api).create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "agent-core"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent-core"},
                 "minReplicas": 1, "maxReplicas": 6}})
    args = {"namespace": ns, "label_selector": "tier=easymo"}

    plan = run_module("traffic_scale", dict(args, state="stopped"), check=True, diff=True)
    assert plan["changed"] is True and plan["diff"]["after"] == {n: 0 for n in replicas(lab, ns)}
    assert replicas(lab, ns)["agent-core"] == 3 and len(pods(lab, ns)) == 6  # check mode changed nothing

    stop = run_module("traffic_scale", dict(args, state="stopped"))
    assert stop["changed"] is True and not stop.get("failed"), stop.get("msg")
    assert replicas(lab, ns) == {"agent-core": 0, "idle-worker": 0, "ranking-service": 0, "wallet-service": 0}
    assert pods(lab, ns) == []  # the wait ended only when no pod of them existed, terminating ones included
    assert {d["name"]: d["recorded"] for d in stop["deployments"]} == {
        "agent-core": 3, "idle-worker": 0, "ranking-service": 1, "wallet-service": 2}
    assert stop["hpas"] == [{"name": "agent-core", "deployment": "agent-core", "min_replicas": 1, "max_replicas": 6}]

    # A second stop keeps the first record (it must not record the 0 it finds: the runbook's "back to 3" trap).
    again = run_module("traffic_scale", dict(args, state="stopped"))
    assert again["changed"] is False and {d["action"] for d in again["deployments"]} == {"none"}
    annotations = {d.metadata.name: d.metadata.annotations[RECORD_ANNOTATION] for d in lab.apps.list_namespaced_deployment(ns).items}
    assert annotations == {"agent-core": "3", "idle-worker": "0", "ranking-service": "1", "wallet-service": "2"}

    restore = run_module("traffic_scale", dict(args, state="restored"), diff=True)
    assert restore["changed"] is True and not restore.get("failed"), restore.get("msg")
    assert replicas(lab, ns) == {"agent-core": 3, "idle-worker": 0, "ranking-service": 1, "wallet-service": 2}
    assert restore["diff"]["before"]["agent-core"] == 0 and restore["diff"]["after"]["agent-core"] == 3
    assert all(RECORD_ANNOTATION not in (d.metadata.annotations or {}) for d in lab.apps.list_namespaced_deployment(ns).items)
    assert len([p for p in lab.core.list_namespaced_pod(ns).items if p.status.phase == "Running"]) == 6

    # Nothing recorded any more: a second restore leaves everything as it is and says why.
    second = run_module("traffic_scale", dict(args, state="restored"))
    assert second["changed"] is False and replicas(lab, ns)["agent-core"] == 3
    assert "no count recorded" in second["deployments"][0]["reason"]


def test_selector_matching_nothing_is_an_error_unless_allowed(lab):
    ns = lab.namespace("scale-empty")
    lab.deployment(ns, "agent-core", "registry.easymo.lab/agent-core:v1", replicas=1)
    refused = run_module("traffic_scale", {"namespace": ns, "label_selector": "tier=nothing", "state": "stopped"})
    assert refused["failed"] is True and "tier=nothing" in refused["msg"] and "0 objects matched" in refused["msg"]
    assert replicas(lab, ns) == {"agent-core": 1}
    allowed = run_module("traffic_scale", {"namespace": ns, "label_selector": "tier=nothing", "state": "stopped",
                                           "allow_empty": True})
    assert allowed["changed"] is False and allowed["deployments"] == [] and not allowed.get("failed")


def test_a_damaged_record_is_never_guessed(lab):
    ns = lab.namespace("scale-bad-record")
    lab.deployment(ns, "wallet-service", "registry.easymo.lab/wallet-service:v1", replicas=0,
                   annotations={RECORD_ANNOTATION: "three"})
    result = run_module("traffic_scale", {"namespace": ns, "names": ["wallet-service"], "state": "restored"})
    assert result["changed"] is False and "'three' is not a replica count; scale it by hand" in result["deployments"][0]["reason"]
    assert replicas(lab, ns) == {"wallet-service": 0}
