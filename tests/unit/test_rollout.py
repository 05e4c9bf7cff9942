"""Pure decisions of _rollout: target selection and rollout-done rules, on plain data."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.easymo.rollback.plugins.module_utils import _rollout as r

UID = "uid-dep"


def template(image: str, labels=None, restarted_at: str | None = None, hash_label: str | None = None) -> dict:
    meta: dict = {"labels": dict(labels or {"app": "web"})}
    if hash_label:
        meta["labels"]["pod-template-hash"] = hash_label
    if restarted_at:
        meta["annotations"] = {r.RESTARTED_AT: restarted_at}
    return {"metadata": meta, "spec": {"containers": [{"name": "web", "image": image}]}}


def rs(revision: int, image: str, owner: str = UID, history: str | None = None, replicas: int = 0, **tkw) -> dict:
    ann = {r.REVISION: str(revision)}
    if history:
        ann[r.REVISION_HISTORY] = history
    return {
        "metadata": {"name": "web-%d" % revision, "namespace": "ns", "annotations": ann,
                     "ownerReferences": [{"kind": "Deployment", "uid": owner, "controller": True}]},
        "spec": {"template": template(image, hash_label="h%d" % revision, **tkw)},
        "status": {"replicas": replicas},
    }


def deployment(revision: int, image: str, paused: bool = False, annotations=None, selector=None, **tkw) -> dict:
    ann = {r.REVISION: str(revision)}
    ann.update(annotations or {})
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": UID, "annotations": ann, "resourceVersion": "42", "generation": 3},
        "spec": {"replicas": 2, "paused": paused, "selector": selector or {"matchLabels": {"app": "web"}}, "template": template(image, **tkw)},
        "status": {},
    }


def test_default_target_is_previous_different_template():
    plan = r.plan_rollback(deployment(2, "v2"), [rs(1, "v1"), rs(2, "v2")])
    assert plan.action == "rollback"
    assert plan.target_revision == 1
    assert plan.target_images == {"web": "v1"}
    assert "pod-template-hash" not in plan.target_template["metadata"]["labels"]


def test_revisions_compare_as_integers_not_strings():
    # "9" > "10" as strings; the newest earlier revision of 10 is 9.
    rss = [rs(n, "v%d" % n) for n in range(1, 11)]
    plan = r.plan_rollback(deployment(10, "v10"), rss)
    assert plan.target_revision == 9


def test_replicasets_of_other_deployments_are_ignored_K24():
    foreign = rs(5, "other-image", owner="someone-else")
    plan = r.plan_rollback(deployment(2, "v2"), [rs(1, "v1"), rs(2, "v2"), foreign])
    assert plan.target_images == {"web": "v1"}


def test_restart_is_not_a_release_K26():
    rss = [rs(1, "v1"), rs(2, "v2"), rs(3, "v2", restarted_at="2026-12-03T10:00:00Z")]
    plan = r.plan_rollback(deployment(3, "v2", restarted_at="2026-12-03T10:00:00Z"), rss)
    assert plan.target_revision == 1
    assert plan.target_images == {"web": "v1"}


def test_recorded_target_makes_second_run_a_no_op_K13():
    first = r.plan_rollback(deployment(2, "v2"), [rs(1, "v1"), rs(2, "v2")])
    record = r.target_record(first, "2026-12-03T00:00:00Z")
    # After the rollback the controller renumbers v1 to revision 3.
    after = deployment(3, "v1", annotations={r.TARGET_ANNOTATION: record})
    second = r.plan_rollback(after, [rs(2, "v2"), rs(3, "v1", history="1")])
    assert second.action == "none"
    assert "already at the recorded target" in second.reason


def test_without_a_record_undo_would_flip_back():
    # The danger the record prevents: the plain "previous revision" of the rolled-back state is the bad one.
    plan = r.plan_rollback(deployment(3, "v1"), [rs(2, "v2"), rs(3, "v1", history="1")])
    assert plan.target_images == {"web": "v2"}


def test_recorded_target_followed_when_bad_template_comes_back():
    first = r.plan_rollback(deployment(2, "v2"), [rs(1, "v1"), rs(2, "v2")])
    record = r.target_record(first, "t")
    again_bad = deployment(4, "v2", annotations={r.TARGET_ANNOTATION: record})
    plan = r.plan_rollback(again_bad, [rs(3, "v1", history="1"), rs(4, "v2", history="2")])
    assert plan.action == "rollback" and plan.target_images == {"web": "v1"}
    assert plan.reason == "target recorded by an earlier run"


def test_to_revision_resolved_through_revision_history_K14():
    plan = r.plan_rollback(deployment(3, "v1"), [rs(2, "v2"), rs(3, "v1", history="1")], to_revision=1)
    assert plan.action == "none"


def test_to_revision_missing_is_refused_with_history():
    with pytest.raises(r.RollbackRefused) as err:
        r.plan_rollback(deployment(2, "v2"), [rs(1, "v1"), rs(2, "v2")], to_revision=7)
    assert "ns/web" in str(err.value) and "no revision 7" in str(err.value) and "1 (v1)" in str(err.value)


def test_pinned_images():
    rss = [rs(1, "v1"), rs(2, "v2"), rs(3, "v3")]
    plan = r.plan_rollback(deployment(3, "v3"), rss, target_images={"web": "v1"})
    assert plan.target_revision == 1
    none = r.plan_rollback(deployment(3, "v3"), rss, target_images={"web": "v3"})
    assert none.action == "none"
    with pytest.raises(r.RollbackRefused):
        r.plan_rollback(deployment(3, "v3"), rss, target_images={"web": "v0"})


def test_history_gap_K25():
    plan = r.plan_rollback(deployment(4, "v4"), [rs(2, "v2"), rs(4, "v4")])
    assert plan.target_revision == 2


def test_paused_refused_or_resumed_K12():
    with pytest.raises(r.RollbackRefused) as err:
        r.plan_rollback(deployment(2, "v2", paused=True), [rs(1, "v1"), rs(2, "v2")])
    assert "ns/web is paused" in str(err.value) and "resume_paused" in str(err.value)
    plan = r.plan_rollback(deployment(2, "v2", paused=True), [rs(1, "v1"), rs(2, "v2")], resume_paused=True)
    ops = r.rollback_patch(plan, deployment(2, "v2", paused=True), "t")
    assert {"op": "replace", "path": "/spec/paused", "value": False} in ops


def test_selector_mismatch_refused_K23():
    old = rs(1, "v1", labels={"app": "web-legacy"})
    with pytest.raises(r.RollbackRefused) as err:
        r.plan_rollback(deployment(2, "v2"), [old, rs(2, "v2")])
    assert "do not match the Deployment's selector" in str(err.value)


def test_no_history():
    with pytest.raises(r.RollbackRefused) as err:
        r.plan_rollback(deployment(1, "v1"), [rs(1, "v1")])
    assert "no rollout history" in str(err.value)


def test_patch_keeps_other_annotations_and_guards_resource_version_K22():
    dep = deployment(2, "v2", annotations={"team": "payments"})
    plan = r.plan_rollback(dep, [rs(1, "v1"), rs(2, "v2")])
    ops = r.rollback_patch(plan, dep, "t")
    assert ops[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "42"}
    paths = [o["path"] for o in ops]
    assert "/metadata/annotations" not in paths  # never replaced wholesale when annotations exist
    assert "/metadata/annotations/rollback.easymo.com~1target" in paths
    record = json.loads(ops[-1]["value"])
    assert record["images"] == {"web": "v1"} and record["revision_to"] == 1


@pytest.mark.parametrize(
    "spec_replicas,status,expected",
    [
        (3, {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}, "progressing"),  # generation not observed
        (3, {"observedGeneration": 3, "updatedReplicas": 1, "replicas": 3, "availableReplicas": 3}, "progressing"),
        (3, {"observedGeneration": 3, "updatedReplicas": 3, "replicas": 4, "availableReplicas": 3}, "progressing"),
        (3, {"observedGeneration": 3, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2}, "progressing"),
        (3, {"observedGeneration": 3, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}, "done"),
        (0, {"observedGeneration": 3}, "done"),
        (3, {"observedGeneration": 3, "updatedReplicas": 1, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}, "failed"),
    ],
)
def test_rollout_state_follows_kubectl(spec_replicas, status, expected):
    dep = deployment(2, "v2")
    dep["spec"]["replicas"] = spec_replicas
    dep["status"] = status
    assert r.deployment_rollout_state(dep).state == expected


def test_progress_deadline_message_is_distinct():
    dep = deployment(2, "v2")
    dep["status"] = {"observedGeneration": 3, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}
    assert r.deployment_rollout_state(dep).message.startswith("ProgressDeadlineExceeded")


@pytest.mark.parametrize(
    "selector,labels,ok",
    [
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "x"}, False),
    ],
)
def test_selector_matches(selector, labels, ok):
    assert r.selector_matches(selector, labels) is ok


def test_leftovers_reports_other_replicasets_with_pods_K16():
    dep = deployment(3, "v1")
    left = r.leftover_replicasets(dep, [rs(2, "v2", replicas=1), rs(3, "v1", replicas=2)])
    assert left == [{"name": "web-2", "revision": 2, "replicas": 1, "images": {"web": "v2"}}]


def test_fingerprint_ignores_hash_and_restart_only():
    a = template("v1", hash_label="x", restarted_at="t1")
    b = template("v1", hash_label="y")
    assert r.template_fingerprint(a) == r.template_fingerprint(b)
    c = copy.deepcopy(b)
    c["spec"]["containers"][0]["env"] = [{"name": "X", "value": "1"}]
    assert r.template_fingerprint(c) != r.template_fingerprint(b)
