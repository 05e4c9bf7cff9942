#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollout_history_info
short_description: Rollout history of Deployments and the target a rollback would choose
version_added: 0.1.0
description:
  - The runbook's C(kubectl rollout history), with images per revision, the revisions each ReplicaSet carried before
    (C(revision-history)), the target recorded by an earlier rollback, and the target a rollback would choose now.
  - ReplicaSets are matched by ownerReference; revisions are sorted as integers.
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
    details: Changes nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: What would a rollback of agent-core do?
  easymo.rollback.rollout_history_info:
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
    current_revision:
      description: Current revision.
      type: int
      returned: always
    revisions:
      description: Newest first, each with C(revision), C(replicaset), C(images), C(revision_history), C(replicas), C(current).
      type: list
      returned: always
    recorded_target:
      description: The target an earlier rollback recorded (or null).
      type: dict
      returned: always
    rollback_plan:
      description: What deployment_rollback would do now, or why it would refuse.
      type: dict
      returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.easymo.rollback.plugins.module_utils._deployments import (
    DEPLOYMENT_SELECTION_ARG_SPEC,
    SelectionError,
    list_replicasets,
    select_deployments,
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
    RollbackRefused,
    owned_replicasets,
    plan_rollback,
    recorded_target,
    revision_history_of,
    revision_of,
    template_fingerprint,
    template_images,
)


def history(dep, replicasets):
    current_fp = template_fingerprint(dep["spec"]["template"])
    rows = []
    for rs in sorted(owned_replicasets(dep, replicasets), key=revision_of, reverse=True):
        tmpl = rs.get("spec", {}).get("template", {})
        rows.append({
            "revision": revision_of(rs),
            "replicaset": rs["metadata"]["name"],
            "images": template_images(tmpl),
            "revision_history": revision_history_of(rs),
            "replicas": (rs.get("status") or {}).get("replicas") or 0,
            "current": template_fingerprint(tmpl) == current_fp and revision_of(rs) == revision_of(dep),
            "change_cause": (rs["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause"),
        })
    return rows


def main():
    module = AnsibleModule(
        argument_spec=dict(K8S_AUTH_ARG_SPEC, **DEPLOYMENT_SELECTION_ARG_SPEC),
        mutually_exclusive=[("names", "label_selector")],
        required_one_of=[("names", "label_selector")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        api_client = build_api_client(p)
        deployments = select_deployments(api_client, p["namespace"], p["names"], p["label_selector"])
        replicasets = list_replicasets(api_client, p["namespace"])
    except (K8sAuthError, SelectionError) as exc:
        module.fail_json(msg=str(exc))
    except (ApiException, TransportError, OSError) as exc:
        module.fail_json(msg="Kubernetes API error in namespace %s: %s" % (p["namespace"], describe_k8s_error(exc)))
    rows = []
    for dep in deployments:
        try:
            plan = plan_rollback(dep, replicasets).summary()
        except RollbackRefused as exc:
            plan = {"action": "refused", "reason": str(exc)}
        rows.append({
            "namespace": p["namespace"],
            "name": dep["metadata"]["name"],
            "current_revision": revision_of(dep),
            "revisions": history(dep, replicasets),
            "recorded_target": recorded_target(dep),
            "rollback_plan": plan,
        })
    module.exit_json(changed=False, deployments=rows)


if __name__ == "__main__":
    main()
