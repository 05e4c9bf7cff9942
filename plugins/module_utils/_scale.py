# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stopping and restoring traffic (Method 5, Steps 1 and 4): pure decisions on plain Deployments.

The runbook scales everything to 0 and later "back to 3", which forgets each service's real replica count. Here the
count is recorded on the Deployment itself, in one patch with the scale-down, so it survives the playbook, the
machine and a second stop (which must not record the 0 it finds).
"""

from __future__ import annotations

import typing as t

from ansible_collections.easymo.rollback.plugins.module_utils._rollout import selector_matches

RECORD_ANNOTATION = "rollback.easymo.com/replicas-before-stop"


def recorded_replicas(deployment: dict) -> int | None:
    """The count a stop recorded, or None (absent, or not a whole number 0 or more: never guessed)."""
    value = ((deployment.get("metadata") or {}).get("annotations") or {}).get(RECORD_ANNOTATION)
    if value is None or not str(value).isdigit():
        return None
    return int(value)


def _replicas(deployment: dict) -> int:
    replicas = (deployment.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def plan_stop(deployment: dict) -> dict[str, t.Any]:
    """What stopping one Deployment does: record its count (unless a stop already did) and scale to 0."""
    name = deployment["metadata"]["name"]
    current = _replicas(deployment)
    recorded = recorded_replicas(deployment)
    if recorded is not None:
        return {"name": name, "before": current, "after": 0, "recorded": recorded,
                "action": "scale" if current else "none",
                "reason": "already stopped; %d replicas recorded by the earlier stop" % recorded if not current else
                          "scaled up again since the stop; the recorded %d is kept" % recorded}
    return {"name": name, "before": current, "after": 0, "recorded": current, "action": "record_and_scale",
            "reason": "%d replicas recorded, scaled to 0" % current}


def stop_patch(plan: dict[str, t.Any]) -> dict[str, t.Any]:
    """One merge patch: the record and the scale-down land together or not at all."""
    body: dict[str, t.Any] = {"spec": {"replicas": 0}}
    if plan["action"] == "record_and_scale":
        body["metadata"] = {"annotations": {RECORD_ANNOTATION: str(plan["recorded"])}}
    return body


def plan_restore(deployment: dict) -> dict[str, t.Any]:
    """What restoring one Deployment does: back to its recorded count, record removed."""
    name = deployment["metadata"]["name"]
    current = _replicas(deployment)
    recorded = recorded_replicas(deployment)
    if recorded is None:
        raw = ((deployment.get("metadata") or {}).get("annotations") or {}).get(RECORD_ANNOTATION)
        why = ("its record %r is not a replica count; scale it by hand" % raw if raw is not None else
               "no count recorded (not stopped by this collection); left at %d" % current)
        return {"name": name, "before": current, "after": current, "recorded": None, "action": "none", "reason": why}
    return {"name": name, "before": current, "after": recorded, "recorded": recorded, "action": "restore",
            "reason": "back to the %d replicas recorded at the stop" % recorded}


def restore_patch(plan: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"metadata": {"annotations": {RECORD_ANNOTATION: None}}, "spec": {"replicas": plan["after"]}}


def pods_of(deployments: list[dict], pods: t.Iterable[dict]) -> dict[str, list[str]]:
    """Each Deployment's pods by its selector, terminating ones included (they still hold connections)."""
    out: dict[str, list[str]] = {d["metadata"]["name"]: [] for d in deployments}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        for dep in deployments:
            if selector_matches((dep.get("spec") or {}).get("selector"), labels):
                out[dep["metadata"]["name"]].append(pod["metadata"]["name"])
    return {name: sorted(found) for name, found in out.items()}


def hpas_targeting(hpas: t.Iterable[dict], names: t.Iterable[str]) -> list[dict[str, t.Any]]:
    """HorizontalPodAutoscalers aimed at these Deployments: they take over again once replicas are back above 0."""
    wanted = set(names)
    found = []
    for hpa in hpas:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") in wanted:
            found.append({"name": hpa["metadata"]["name"], "deployment": ref["name"],
                          "min_replicas": (hpa.get("spec") or {}).get("minReplicas", 1),
                          "max_replicas": (hpa.get("spec") or {}).get("maxReplicas")})
    return sorted(found, key=lambda h: h["name"])
