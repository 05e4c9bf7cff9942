#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: traffic_scale
short_description: Stop traffic (scale Deployments to 0, recording each one's replicas) and restore it exactly
version_added: 0.1.0
description:
  - Method 5's C(kubectl scale deployment --all --replicas=0) and, later, "scale back up", without the runbook's
    danger of scaling every service "back to 3".
  - O(state=stopped) records each Deployment's replica count in the annotation
    C(rollback.easymo.com/replicas-before-stop), in the same patch that scales it to 0, then waits until no pod of
    them exists any more (terminating pods still write to the database). A second stop keeps the first record.
  - O(state=restored) scales each stopped Deployment back to its recorded count, removes the record and waits until
    they are rolled out. A Deployment without a record is left alone and reported.
  - HorizontalPodAutoscalers aimed at the Deployments are reported; they are inactive at 0 replicas and take over
    again after the restore.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - easymo.rollback.k8s_auth
  - easymo.rollback.deployment_selection
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Reports the plan (before, after, recorded) and changes nothing.
  diff_mode:
    support: full
    details: Each Deployment's replicas before and after.
options:
  state:
    description: V(stopped) (scale to 0, recording the count) or V(restored) (back to the recorded count).
    type: str
    required: true
    choices: [stopped, restored]
  allow_empty:
    description: With O(label_selector), succeed with nothing to do when nothing matches (else an error).
    type: bool
    default: false
  wait:
    description: Wait until no pod is left (stopped) or every Deployment is rolled out (restored).
    type: bool
    default: true
  wait_timeout:
    description: One deadline in seconds for all Deployments together.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: "Method 5, Step 1: stop traffic"
  easymo.rollback.traffic_scale:
    namespace: easymo-prod
    label_selector: app.kubernetes.io/part-of=easymo
    state: stopped

- name: "Method 5, Step 4: every service back at its own replica count"
  easymo.rollback.traffic_scale:
    namespace: easymo-prod
    label_selector: app.kubernetes.io/part-of=easymo
    state: restored
"""

RETURN = r"""
deployments:
  description: One entry per Deployment.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Deployment name.
      type: str
      returned: always
    before:
      description: Replicas before this run.
      type: int
      returned: always
    after:
      description: Replicas after this run (what it would be, in check mode).
      type: int
      returned: always
    recorded:
      description: The count recorded at the stop (null when none).
      type: int
      returned: always
    action:
      description: V(record_and_scale), V(scale), V(restore) or V(none).
      type: str
      returned: always
    reason:
      description: Why, in words.
      type: str
      returned: always
pods_left:
  description: Pods still present per Deployment when the wait ended (empty lists after a stop that completed).
  returned: when state is stopped and waited
  type: dict
hpas:
  description: HorizontalPodAutoscalers aimed at these Deployments (name, deployment, min_replicas, max_replicas).
  returned: always
  type: list
  elements: dict
duration_seconds:
  description: Wall time of the module.
  returned: always
  type: float
wait_seconds:
  description: Seconds spent waiting for pods to go (stopped) or for the rollouts (restored).
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.easymo.rollback.plugins.module_utils._deployments import (
    DEPLOYMENT_SELECTION_ARG_SPEC,
    SelectionError,
    select_deployments,
    wait_for_rollouts,
)
from ansible_collections.easymo.rollback.plugins.module_utils._k8s_client import (
    K8S_AUTH_ARG_SPEC,
    ApiException,
    TransportError,
    K8sAuthError,
    build_api_client,
    describe_k8s_error,
)
from ansible_collections.easymo.rollback.plugins.module_utils._scale import (
    hpas_targeting,
    plan_restore,
    plan_stop,
    pods_of,
    restore_patch,
    stop_patch,
)
from ansible_collections.easymo.rollback.plugins.module_utils._waiter import PODS, WaitTimeout, watch_until

try:
    from kubernetes import client as k8s_client
except ImportError:  # reported by the client factory
    pass


def list_hpas(api_client, namespace):
    items = k8s_client.AutoscalingV2Api(api_client).list_namespaced_horizontal_pod_autoscaler(namespace).items
    return [api_client.sanitize_for_serialization(h) for h in items]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            K8S_AUTH_ARG_SPEC,
            **DEPLOYMENT_SELECTION_ARG_SPEC,
            state=dict(type="str", required=True, choices=["stopped", "restored"]),
            allow_empty=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
        ),
        mutually_exclusive=[("names", "label_selector")],
        required_one_of=[("names", "label_selector")],
        supports_check_mode=True,
    )
    p = module.params
    started = time.monotonic()
    ns = p["namespace"]
    if p["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be a positive number of seconds, got %d." % p["wait_timeout"])
    result = dict(changed=False, deployments=[], hpas=[], wait_seconds=0.0)
    try:
        api_client = build_api_client(p)
        deployments = select_deployments(api_client, ns, p["names"], p["label_selector"], p["allow_empty"])
        plans = [plan_stop(d) if p["state"] == "stopped" else plan_restore(d) for d in deployments]
        result["deployments"] = plans
        result["hpas"] = hpas_targeting(list_hpas(api_client, ns), [d["metadata"]["name"] for d in deployments])
        acting = [pl for pl in plans if pl["action"] != "none"]
        result["changed"] = bool(acting)
        if module._diff:
            result["diff"] = {"before": {pl["name"]: pl["before"] for pl in plans},
                              "after": {pl["name"]: pl["after"] for pl in plans}}
        if module.check_mode:
            result["duration_seconds"] = round(time.monotonic() - started, 2)
            module.exit_json(**result)
        apps = k8s_client.AppsV1Api(api_client)
        for pl in acting:
            body = stop_patch(pl) if p["state"] == "stopped" else restore_patch(pl)
            apps.patch_namespaced_deployment(pl["name"], ns, body)
        waited = time.monotonic()
        if p["wait"] and p["state"] == "stopped" and deployments:
            def no_pods_left(objects, deleted):
                left = pods_of(deployments, objects.values())
                return left if not any(left.values()) else None
            try:
                result["pods_left"] = watch_until(api_client, PODS, ns, no_pods_left, time.monotonic() + p["wait_timeout"])
            except WaitTimeout as exc:
                left = {k: v for k, v in pods_of(deployments, exc.objects.values()).items() if v}
                result.update(pods_left=left, wait_seconds=round(time.monotonic() - waited, 2),
                              duration_seconds=round(time.monotonic() - started, 2))
                module.fail_json(msg="Scaled to 0, but after %d s pods still exist: %s. Traffic is not stopped yet; look "
                                     "at why they do not terminate (finalizers, a long grace period) before restoring "
                                     "any database." % (p["wait_timeout"], "; ".join(
                                         "%s: %s" % (k, ", ".join(v)) for k, v in sorted(left.items()))), **result)
        if p["wait"] and p["state"] == "restored" and acting:
            waits = wait_for_rollouts(api_client, [(ns, pl["name"]) for pl in acting], p["wait_timeout"])
            bad = [w for w in waits if w.state != "done"]
            if bad:
                result.update(wait_seconds=round(time.monotonic() - waited, 2), duration_seconds=round(time.monotonic() - started, 2))
                module.fail_json(msg="Restored the recorded replica counts, but not every Deployment rolled out: %s."
                                     % "; ".join("%s %s: %s" % (w.name, w.state, w.message) for w in bad), **result)
        result["wait_seconds"] = round(time.monotonic() - waited, 2)
    except (K8sAuthError, SelectionError) as exc:
        module.fail_json(msg=str(exc), **result)
    except (ApiException, TransportError, OSError) as exc:
        module.fail_json(msg="Kubernetes API error in namespace %s: %s" % (ns, describe_k8s_error(exc)), **result)
    result["duration_seconds"] = round(time.monotonic() - started, 2)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
