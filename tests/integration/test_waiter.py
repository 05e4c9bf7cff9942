"""The waiting engine against the real API server: resumed watches, 410 Gone, one deadline."""

from __future__ import annotations

import time

import pytest

from ansible_collections.easymo.rollback.plugins.module_utils._waiter import DEPLOYMENTS, WatchStats, WaitTimeout, watch_until


def _done_when_ready(name):
    def check(objects, deleted):
        obj = objects.get(name)
        if obj and (obj.get("status") or {}).get("readyReplicas") == obj["spec"]["replicas"]:
            return "ready"
        return None
    return check


def test_short_watches_are_resumed_until_the_condition_holds(lab):
    ns = lab.namespace("resume")
    lab.deployment(ns, "web", "registry.lab/web:v1", replicas=2, template_annotations={"lab.easymo.com/ready-delay": "4s"})
    stats = WatchStats()
    # One-second watches: the server ends each one, and the engine resumes from the last resourceVersion.
    outcome = watch_until(lab.api, DEPLOYMENTS, ns, _done_when_ready("web"), time.monotonic() + 60, stats=stats, chunk_seconds=1)
    assert outcome == "ready"
    assert stats.watches >= 3, stats
    assert stats.lists == 1, "resuming needs no new list"


def test_expired_resource_version_leads_to_a_fresh_list(lab):
    ns = lab.namespace("gone")
    lab.deployment(ns, "web", "registry.lab/web:v1", replicas=1, template_annotations={"lab.easymo.com/ready-delay": "3s"})
    stats = WatchStats()
    outcome = watch_until(lab.api, DEPLOYMENTS, ns, _done_when_ready("web"), time.monotonic() + 60, stats=stats,
                          initial_resource_version="1")
    assert outcome == "ready"
    assert stats.relisted_after_gone >= 1, stats


def test_deadline_raises_with_last_view(lab):
    ns = lab.namespace("deadline")
    lab.deployment(ns, "web", "registry.lab/web:v1", replicas=1, template_annotations={"lab.easymo.com/never-ready": "true"})
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as err:
        watch_until(lab.api, DEPLOYMENTS, ns, _done_when_ready("web"), time.monotonic() + 3)
    assert time.monotonic() - started < 6
    assert "web" in err.value.objects
