#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollout_status
short_description: Wait for many Deployments to finish rolling out and report their pods
version_added: 0.1.0
description:
  - C(kubectl rollout status) for many Deployments at once against one deadline (kubectl waits one after another),
    followed by the runbook's C(kubectl get pods | grep -v Running). Every pod of each Deployment is listed as ready,
    not ready (with the reason) or terminating.
  - C(ProgressDeadlineExceeded) is reported as its own failure, distinct from this module's own timeout.
  - Changes nothing.
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
    details: Reading and waiting change nothing, so it runs in check mode too.
  diff_mode:
    support: none
options:
  allow_empty:
    description: With O(label_selector), succeed with an empty report when nothing matches.
    type: bool
    default: false
  wait:
    description: Wait until every Deployment has rolled out (kubectl's rules) before reporting.
    type: bool
    default: true
  wait_timeout:
    description: One deadline in seconds for all Deployments together.
    type: int
    default: 300
  fail_on_not_ready:
    description: Fail when a Deployment has not rolled out or has pods that are not Running and Ready.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: All services rolled out and every pod Running and Ready
  easymo.rollback.rollout_status:
    namespace: easymo-prod
    names: [agent-core, wallet-service]
    wait_timeout: 120
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
    state:
      description: V(done), V(progressing), V(failed), V(timeout) or V(deleted).
      type: str
      returned: always
    message:
      description: kubectl-style status message.
      type: str
      returned: always
    images:
      description: Container name to image.
      type: dict
      returned: always
    revision:
      description: Current revision.
      type: int
      returned: always
    replicas:
      description: Desired replicas.
      type: int
      returned: always
    pods:
      description: Pod names by C(ready), C(not_ready) (with phase and reason) and C(terminating).
      type: dict
      returned: always
    seconds:
      description: Seconds until done, when waited.
      type: float
      returned: always
all_ready:
  description: Every Deployment rolled out and every pod Running and Ready.
  returned: always
  type: bool
duration_seconds:
  description: Wall time of the module.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.easymo.rollback.plugins.module_utils._deployments import (
    DEPLOYMENT_SELECTION_ARG_SPEC,
    SelectionError,
    list_replicasets,
    select_deployments,
    wait_for_rollouts,
)
from ansible_collections.easymo.rollback.plugins.module_utils._k8s_client import (
    K8S_AUTH_ARG_SPEC,
    ApiException,
    TransportError,
    K8sAuthError,
    describe_k8s_error,
    build_api_client,
)
from ansible_collections.easymo.rollback.plugins.module_utils._rollout import (
    deployment_rollout_state,
    pod_report,
    revision_of,
    template_images,
)
from ansible_collections.easymo.rollback.plugins.module_utils._waiter import DEPLOYMENTS, PODS, list_objects


def main():
    module = AnsibleModule(
        argument_spec=dict(
            K8S_AUTH_ARG_SPEC,
            **DEPLOYMENT_SELECTION_ARG_SPEC,
            allow_empty=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
            fail_on_not_ready=dict(type="bool", default=True),
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
    try:
        api_client = build_api_client(p)
        deployments = select_deployments(api_client, ns, p["names"], p["label_selector"], p["allow_empty"])
        names = [d["metadata"]["name"] for d in deployments]
        waits = {}
        if p["wait"] and names:
            waits = {w.name: w for w in wait_for_rollouts(api_client, [(ns, n) for n in names], p["wait_timeout"])}
        # Re-read after waiting: the report is about the state at the end.
        current = list_objects(api_client, DEPLOYMENTS, ns)[0]
        replicasets = list_replicasets(api_client, ns)
        pods = list_objects(api_client, PODS, ns)[0]
    except (K8sAuthError, SelectionError) as exc:
        module.fail_json(msg=str(exc), deployments=[], all_ready=False)
    except (ApiException, TransportError, OSError) as exc:
        module.fail_json(msg="Kubernetes API error in namespace %s: %s" % (ns, describe_k8s_error(exc)), deployments=[], all_ready=False)

    rows = []
    for name in names:
        dep = current.get(name)
        w = waits.get(name)
        if dep is None:
            rows.append(dict(name=name, namespace=ns, state="deleted", message="Deployment %s/%s no longer exists" % (ns, name),
                             images={}, revision=0, replicas=0, pods={"ready": [], "not_ready": [], "terminating": []},
                             seconds=w.seconds if w else None))
            continue
        state = deployment_rollout_state(dep)
        row_state = state.state
        if w is not None and w.state in ("timeout", "deleted", "error"):
            row_state = w.state
        rows.append(dict(
            name=name, namespace=ns, state=row_state, message=w.message if w is not None and w.state != "done" else state.message,
            images=template_images(dep["spec"]["template"]), revision=revision_of(dep),
            replicas=dep["spec"].get("replicas", 1), pods=pod_report(dep, replicasets, list(pods.values())),
            seconds=w.seconds if w else None,
        ))
    all_ready = all(r["state"] == "done" and not r["pods"]["not_ready"] for r in rows)
    result = dict(changed=False, deployments=rows, all_ready=all_ready, duration_seconds=round(time.monotonic() - started, 2))
    if not all_ready and p["fail_on_not_ready"]:
        problems = []
        for r in rows:
            if r["state"] != "done":
                problems.append("%s/%s %s: %s" % (ns, r["name"], r["state"], r["message"]))
            for pod in r["pods"]["not_ready"]:
                problems.append("pod %s/%s %s (%s)" % (ns, pod["name"], pod["phase"], pod["reason"]))
        module.fail_json(msg="Not every Deployment is rolled out and ready: " + "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
