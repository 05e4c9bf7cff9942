#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pod_log_errors
short_description: Count ERROR lines in the recent logs of every pod of some Deployments
version_added: 0.1.0
description:
  - The runbook's C(kubectl logs deployment/agent-core --tail=50 | grep ERROR), with a verdict. kubectl reads one pod
    of the Deployment; this reads every running pod, so one bad pod among many is not missed.
  - A Deployment passes when none of its pods has more than O(max_errors) lines matching O(pattern) among its last
    O(tail_lines) lines. A pod whose logs cannot be read fails the check, with the API's reason (not verified is not
    passed). Pods being deleted are left out.
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
    details: Reading logs changes nothing, so it runs in check mode too.
  diff_mode:
    support: none
options:
  tail_lines:
    description: How many of each container's last lines to read.
    type: int
    default: 50
  pattern:
    description: A regular expression (Python syntax) for an error line.
    type: str
    default: '\bERROR\b'
  max_errors:
    description: The most matching lines a pod may have ("minimal or none", in the runbook's words).
    type: int
    default: 5
  container:
    description: Only this container of each pod (default all of them).
    type: str
  samples:
    description: How many matching lines to return per container (each cut to 200 characters).
    type: int
    default: 3
"""

EXAMPLES = r"""
- name: No more than 5 ERROR lines in the last 50 of any agent-core pod
  easymo.rollback.pod_log_errors:
    namespace: easymo-prod
    names: [agent-core]
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
    passed:
      description: No pod over O(max_errors), and every pod's log read.
      type: bool
      returned: always
    errors:
      description: The most matching lines in one pod.
      type: int
      returned: always
    pods:
      description: Per pod and container, C(lines) read, C(errors) found, C(samples), or C(unavailable) with the reason.
      type: list
      elements: dict
      returned: always
passed:
  description: Every Deployment passed.
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
    pods_by_deployment,
    select_deployments,
)
from ansible_collections.easymo.rollback.plugins.module_utils._k8s_client import (
    K8S_AUTH_ARG_SPEC,
    ApiException,
    TransportError,
    K8sAuthError,
    api_error_message,
    build_api_client,
    describe_k8s_error,
)
from ansible_collections.easymo.rollback.plugins.module_utils._pod_logs import count_matches, pattern_problem, read_pod_log


def main():
    module = AnsibleModule(
        argument_spec=dict(
            K8S_AUTH_ARG_SPEC,
            **DEPLOYMENT_SELECTION_ARG_SPEC,
            tail_lines=dict(type="int", default=50),
            pattern=dict(type="str", default=r"\bERROR\b"),
            max_errors=dict(type="int", default=5),
            container=dict(type="str"),
            samples=dict(type="int", default=3),
        ),
        mutually_exclusive=[("names", "label_selector")],
        required_one_of=[("names", "label_selector")],
        supports_check_mode=True,
    )
    p = module.params
    started = time.monotonic()
    ns = p["namespace"]
    for option, low, high in (("tail_lines", 1, 100000), ("max_errors", 0, 100000), ("samples", 0, 100)):
        if not low <= p[option] <= high:
            module.fail_json(msg="%s must be from %d to %d, got %d." % (option, low, high, p[option]))
    problem = pattern_problem(p["pattern"])
    if problem:
        module.fail_json(msg=problem + ".")
    try:
        api_client = build_api_client(p)
        deployments = select_deployments(api_client, ns, p["names"], p["label_selector"], False)
        pods = pods_by_deployment(api_client, ns, deployments)
        rows = []
        for dep in deployments:
            name = dep["metadata"]["name"]
            entries = []
            for pod in sorted(pods[name], key=lambda o: o["metadata"]["name"]):
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                for c in pod["spec"].get("containers", []):
                    if p["container"] and c["name"] != p["container"]:
                        continue
                    entry = {"pod": pod["metadata"]["name"], "container": c["name"]}
                    try:
                        text = read_pod_log(api_client, ns, pod["metadata"]["name"], c["name"], p["tail_lines"])
                    except ApiException as exc:
                        if exc.status in (401, 403):
                            raise
                        entry["unavailable"] = api_error_message(exc)
                    else:
                        entry.update(count_matches(text or "", p["pattern"], p["samples"]))
                    entries.append(entry)
            worst = max([e.get("errors", 0) for e in entries] or [0])
            missing = [e for e in entries if "unavailable" in e]
            rows.append({"name": name, "namespace": ns, "errors": worst, "pods": entries,
                         "passed": bool(entries) and not missing and worst <= p["max_errors"]})
    except (K8sAuthError, SelectionError) as exc:
        module.fail_json(msg=str(exc), deployments=[], passed=False)
    except (ApiException, TransportError, OSError) as exc:
        module.fail_json(msg="Kubernetes API error reading logs in namespace %s: %s" % (ns, describe_k8s_error(exc)),
                         deployments=[], passed=False)

    result = dict(changed=False, deployments=rows, passed=all(r["passed"] for r in rows),
                  duration_seconds=round(time.monotonic() - started, 2))
    if not result["passed"]:
        problems = []
        for r in rows:
            if not r["pods"]:
                problems.append("%s/%s has no running pod to read" % (ns, r["name"]))
            for e in r["pods"]:
                if "unavailable" in e:
                    problems.append("logs of %s/%s (%s) unavailable: %s" % (ns, e["pod"], e["container"], e["unavailable"]))
                elif e["errors"] > p["max_errors"]:
                    problems.append("%s/%s (%s): %d error lines in the last %d, more than %d" % (
                        ns, e["pod"], e["container"], e["errors"], e["lines"], p["max_errors"]))
        module.fail_json(msg="Errors in the logs: " + "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
