# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin I/O around Deployments: find them, read their history, patch them. Decisions live in _rollout."""

from __future__ import annotations

import re
import typing as t
from datetime import datetime, timezone

from ansible_collections.easymo.rollback.plugins.module_utils._k8s_client import ApiException, TransportError, describe_k8s_error
from ansible_collections.easymo.rollback.plugins.module_utils._rollout import deployment_rollout_state, owned_replicasets
from ansible_collections.easymo.rollback.plugins.module_utils._waiter import (
    DEPLOYMENTS,
    PODS,
    REPLICASETS,
    ObjectWait,
    list_objects,
    wait_for_named,
)

try:
    from kubernetes import client as k8s_client
except ImportError:  # reported by the client factory
    pass


class SelectionError(Exception):
    """The requested Deployments cannot be found; the message names them."""


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def validate_namespace(namespace: str | None) -> None:
    """An empty namespace would make list calls cluster-wide."""
    if not namespace or not _DNS_LABEL.match(namespace) or len(namespace) > 63:
        raise SelectionError("namespace %r is not a valid namespace name (lowercase letters, digits and '-', at most 63)." % (namespace,))


def validate_selection(namespace: str | None, names: list[str] | None, label_selector: str | None) -> None:
    """Refuse selections that would silently widen: an empty namespace lists every namespace, an empty
    list or selector matches every Deployment, a duplicate name is patched twice."""
    validate_namespace(namespace)
    if names is not None:
        if not names:
            raise SelectionError("names is empty: name the Deployments to act on (an empty list would mean all of them).")
        bad = [n for n in names if not n or not _DNS_SUBDOMAIN.match(n) or len(n) > 253]
        if bad:
            raise SelectionError("not valid Deployment names: %s." % ", ".join(repr(n) for n in bad))
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SelectionError("Deployment(s) named more than once: %s. Name each once." % ", ".join(dupes))
    elif label_selector is not None and not label_selector.strip():
        raise SelectionError("label_selector is empty: it would match every Deployment in namespace %s." % namespace)
    elif label_selector is None:
        raise SelectionError("name the Deployments (names) or select them (label_selector).")


def select_deployments(
    api_client: t.Any, namespace: str, names: list[str] | None, label_selector: str | None, allow_empty: bool = False
) -> list[dict]:
    """The Deployments to act on, in the order given (names) or by name (selector).

    One list call for the namespace; a name that does not exist, or a selector that matches nothing
    (unless ``allow_empty``), is an error naming what was asked for.
    """
    validate_selection(namespace, names, label_selector)
    try:
        found = list_objects(api_client, DEPLOYMENTS, namespace, label_selector)[0]
    except (ApiException, TransportError, OSError) as exc:
        raise SelectionError("Cannot list Deployments in namespace %s: %s" % (namespace, describe_k8s_error(exc))) from exc
    if names:
        missing = [n for n in names if n not in found]
        if missing:
            raise SelectionError(
                "Deployment(s) not found in namespace %s: %s. Present: %s."
                % (namespace, ", ".join(missing), ", ".join(sorted(found)) or "none")
            )
        return [found[n] for n in names]
    if not found and not allow_empty:
        raise SelectionError("0 objects matched: no Deployment in namespace %s matches label selector %r; check the selector."
                             % (namespace, label_selector))
    return [found[n] for n in sorted(found)]


def list_replicasets(api_client: t.Any, namespace: str) -> list[dict]:
    """Every ReplicaSet in the namespace: one call; ownership is decided later by ownerReference."""
    return list(list_objects(api_client, REPLICASETS, namespace)[0].values())


def read_deployment(api_client: t.Any, namespace: str, name: str) -> dict:
    return api_client.sanitize_for_serialization(k8s_client.AppsV1Api(api_client).read_namespaced_deployment(name, namespace))


def patch_deployment(api_client: t.Any, namespace: str, name: str, json_patch: list[dict], dry_run: bool) -> dict:
    apps = k8s_client.AppsV1Api(api_client)
    kwargs = {"dry_run": "All"} if dry_run else {}
    result = apps.patch_namespaced_deployment(name, namespace, json_patch, **kwargs)
    return api_client.sanitize_for_serialization(result)


def wait_for_rollouts(api_client: t.Any, targets: list[tuple[str, str]], timeout: float) -> list[ObjectWait]:
    """Wait for many Deployments at once against one deadline, by kubectl's completion rules."""
    return wait_for_named(api_client, DEPLOYMENTS, targets, deployment_rollout_state, timeout)


def patch_template_annotations(api_client: t.Any, namespace: str, name: str, annotations: dict[str, str], dry_run: bool) -> dict:
    """Set pod-template annotations: a new ReplicaSet rolls out (how a restart is done)."""
    apps = k8s_client.AppsV1Api(api_client)
    kwargs = {"dry_run": "All"} if dry_run else {}
    body = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
    return api_client.sanitize_for_serialization(apps.patch_namespaced_deployment(name, namespace, body, **kwargs))


def restart_stamp() -> str:
    """A restartedAt value; microseconds so that two restarts within one second still differ
    (kubectl's one-second stamps make the second an empty patch that fails)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def refuse_paused(deployments: list[dict], action: str) -> list[str]:
    """Messages for paused Deployments: a template change would not roll out while paused."""
    return [
        "Deployment %s/%s is paused, so a %s would not roll out. Resume it first (kubectl rollout resume deployment/%s -n %s)."
        % (d["metadata"]["namespace"], d["metadata"]["name"], action, d["metadata"]["name"], d["metadata"]["namespace"])
        for d in deployments
        if (d.get("spec") or {}).get("paused")
    ]


def pods_by_deployment(api_client: t.Any, namespace: str, deployments: list[dict]) -> dict[str, list[dict]]:
    """Each Deployment's pods, through the ReplicaSets it owns (one list call each for ReplicaSets and pods)."""
    replicasets = list_replicasets(api_client, namespace)
    pods = list(list_objects(api_client, PODS, namespace)[0].values())
    out = {}
    for dep in deployments:
        rs_uids = {rs["metadata"]["uid"] for rs in owned_replicasets(dep, replicasets)}
        out[dep["metadata"]["name"]] = [
            pod for pod in pods
            if any(ref.get("controller") and ref.get("uid") in rs_uids for ref in pod["metadata"].get("ownerReferences") or [])
        ]
    return out


# The options every Deployment module selects with (doc fragment deployment_selection); modules add
# mutually_exclusive=[("names", "label_selector")] and required_one_of the same pair.
DEPLOYMENT_SELECTION_ARG_SPEC: dict[str, dict[str, t.Any]] = {
    "namespace": {"type": "str", "required": True},
    "names": {"type": "list", "elements": "str", "aliases": ["name"]},
    "label_selector": {"type": "str"},
}
