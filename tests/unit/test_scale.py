"""Stopping and restoring traffic: the plans on plain Deployments (the first record is kept, never guessed)."""

from __future__ import annotations

from ansible_collections.easymo.rollback.plugins.module_utils import _scale as s


def test_scale_plans_keep_the_first_record():
    fresh = {"metadata": {"name": "agent-core"}, "spec": {"replicas": 4}}
    plan = s.plan_stop(fresh)
    assert plan["action"] == "record_and_scale" and plan["recorded"] == 4
    assert s.stop_patch(plan) == {"spec": {"replicas": 0}, "metadata": {"annotations": {s.RECORD_ANNOTATION: "4"}}}
    stopped = {"metadata": {"name": "agent-core", "annotations": {s.RECORD_ANNOTATION: "4"}}, "spec": {"replicas": 0}}
    assert s.plan_stop(stopped)["action"] == "none" and s.plan_stop(stopped)["recorded"] == 4
    bumped = {"metadata": {"name": "agent-core", "annotations": {s.RECORD_ANNOTATION: "4"}}, "spec": {"replicas": 1}}
    assert s.plan_stop(bumped)["action"] == "scale" and s.stop_patch(s.plan_stop(bumped)) == {"spec": {"replicas": 0}}
    assert s.plan_restore(stopped)["after"] == 4
    expected = {"metadata": {"annotations": {s.RECORD_ANNOTATION: None}}, "spec": {"replicas": 4}}
    assert s.restore_patch(s.plan_restore(stopped)) == expected
    assert s.plan_restore(fresh)["action"] == "none" and s.plan_restore({"metadata": {"name": "x"}, "spec": {}})["before"] == 1
    assert s.pods_of([{"metadata": {"name": "a"}, "spec": {"selector": {"matchLabels": {"app": "a"}}}}],
                     [{"metadata": {"name": "a-1", "labels": {"app": "a"}}}, {"metadata": {"name": "b-1", "labels": {"app": "b"}}}]) == {"a": ["a-1"]}
