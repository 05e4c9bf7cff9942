#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment_rollback
short_description: Roll Deployments back to a pinned known-good release and wait for them together
version_added: 0.1.0
description:
  - The runbook's Method 3 (C(kubectl rollout undo) + C(kubectl rollout status)) without its dangers.
  - The target of every Deployment is decided before anything changes. By default it is the newest earlier
    revision whose pod template differs from the current one, ignoring C(kubectl.kubernetes.io/restartedAt)
    (a restart is not a release). O(to_revision) or O(target_images) pin it explicitly.
  - The target is recorded on the Deployment (annotation C(rollback.easymo.com/target)) and in the result, so
    a second run reports no change instead of flipping back to the bad release, and a re-run after a partial
    failure goes to the same place.
  - ReplicaSets are matched by ownerReference, never by label keys, and revisions are compared as integers.
  - All Deployments are validated first (paused, no history, selector mismatch); if any is refused, nothing is
    changed. Then all are patched, then waited on together against one deadline.
  - Other Deployment annotations, replicas, strategy and selector are left as they are.
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
    details: Patches are sent as a server-side dry run, so admission and validation still run.
  diff_mode:
    support: full
    details: Shows revision and images of each Deployment before and after.
options:
  to_revision:
    description:
      - Roll back to this revision. A revision that has since been rolled back to (and renumbered by the controller)
        is found through C(deployment.kubernetes.io/revision-history).
    type: int
  target_images:
    description:
      - Pin the target by images, container name to image. The newest revision in history that runs these images
        is the target.
    type: dict
  resume_paused:
    description:
      - A paused Deployment is refused unless this is true, in which case it is resumed by the same patch.
    type: bool
    default: false
  wait:
    description: Wait until every Deployment has rolled out (kubectl's rules).
    type: bool
    default: true
  wait_timeout:
    description: One deadline in seconds for all Deployments together.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Roll agent-core back to its previous release
  easymo.rollback.deployment_rollback:
    namespace: easymo-prod
    names: [agent-core]

- name: Roll the dependent services back in reverse deploy order, then wait for all at once
  easymo.rollback.deployment_rollback:
    namespace: easymo-prod
    names: [ranking-service, wallet-service, buyer-service]
    wait_timeout: 300

- name: Pin the known-good image instead of trusting "the previous revision"
  easymo.rollback.deployment_rollback:
    namespace: easymo-prod
    names: [agent-core]
    target_images:
      agent-core: registry.easymo.com/agent-core:v1.9.4
"""

RETURN = r"""
deployments:
  description: One entry per Deployment, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace.
      type: str
      returned: always
    name:
      description: Deployment name.
      type: str
      returned: always
    action:
      description: V(rollback) or V(none).
      type: str
      returned: always
    reason:
      description: Why this target (or why nothing to do).
      type: str
      returned: always
    revision_from:
      description: Revision running before.
      type: int
      returned: always
    revision_to:
      description: Revision of the target as it was found in history.
      type: int
      returned: always
    revision_after:
      description: Revision number after the controller rolled forward to the target.
      type: int
      returned: when waited
    images_from:
      description: Container name to image before.
      type: dict
      returned: always
    images_to:
      description: Container name to image of the target.
      type: dict
      returned: always
    changed:
      description: Whether this Deployment was patched.
      type: bool
      returned: always
    status:
      description: V(rolled_out), V(already_at_target), V(failed), V(timeout), V(deleted), V(patched) (no wait) or V(would_roll_back) (check mode).
      type: str
      returned: always
    message:
      description: Last rollout status message.
      type: str
      returned: always
    seconds:
      description: Time from the start of waiting until this Deployment was done.
      type: float
      returned: when waited
    leftovers:
      description: Other ReplicaSets still holding pods after the rollout.
      type: list
      returned: when waited
api_server:
  description: URL of the API server the rollback talked to.
  returned: success
  type: str
duration_seconds:
  description: Wall time of the whole module run.
  returned: always
  type: float
"""

import time
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.easymo.rollback.plugins.module_utils._deployments import (
    DEPLOYMENT_SELECTION_ARG_SPEC,
    SelectionError,
    list_replicasets,
    patch_deployment,
    read_deployment,
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
    RollbackRefused,
    leftover_replicasets,
    plan_rollback,
    revision_of,
    rollback_patch,
)


def _plan_all(api_client, namespace, deployments, params):
    """Every Deployment's plan, and every refusal: all are decided before any is changed."""
    replicasets = list_replicasets(api_client, namespace)
    plans, refusals = [], []
    for dep in deployments:
        try:
            plans.append(plan_rollback(dep, replicasets, params["to_revision"], params["target_images"], params["resume_paused"]))
        except RollbackRefused as exc:
            refusals.append(str(exc))
    return plans, refusals


def _changed_since(api_client, namespace, deployment):
    """Whether the Deployment's resourceVersion moved on since we read it (a failed JSON-patch test)."""
    try:
        now = read_deployment(api_client, namespace, deployment["metadata"]["name"])
    except (ApiException, TransportError, OSError):
        return False
    return now["metadata"]["resourceVersion"] != deployment["metadata"]["resourceVersion"]


def main():
    argument_spec = dict(
        K8S_AUTH_ARG_SPEC,
        **DEPLOYMENT_SELECTION_ARG_SPEC,
        to_revision=dict(type="int"),
        target_images=dict(type="dict"),
        resume_paused=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("names", "label_selector"), ("to_revision", "target_images")],
        required_one_of=[("names", "label_selector")],
    )
    started = time.monotonic()
    params = module.params
    namespace = params["namespace"]
    if params["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be a positive number of seconds, got %d." % params["wait_timeout"])
    if params["target_images"] is not None and (not params["target_images"] or not all(isinstance(v, str) and v for v in params["target_images"].values())):
        module.fail_json(msg="target_images must map container names to image strings (at least one), got %r." % (params["target_images"],))
    if params["to_revision"] is not None and params["to_revision"] < 1:
        module.fail_json(msg="to_revision must be a revision number >= 1, got %d. (kubectl's 0 means 'the previous one': "
                             "leave to_revision out for that.)" % params["to_revision"])

    def fail(msg, **extra):
        module.fail_json(msg=msg, duration_seconds=round(time.monotonic() - started, 2), **extra)

    try:
        api_client = build_api_client(params)
        deployments = select_deployments(api_client, namespace, params["names"], params["label_selector"])
        plans, refusals = _plan_all(api_client, namespace, deployments, params)
    except (K8sAuthError, SelectionError) as exc:
        fail(str(exc), deployments=[])
    except (ApiException, TransportError, OSError) as exc:
        fail("Kubernetes API error while reading Deployments in %s: %s" % (namespace, describe_k8s_error(exc)), deployments=[])
    if refusals:
        fail("Nothing was changed. " + " | ".join(refusals), deployments=[])

    decided_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    by_name = {d["metadata"]["name"]: d for d in deployments}
    rows = []
    for plan in plans:
        row = dict(plan.summary(), changed=plan.action == "rollback", status="already_at_target", message=plan.reason)
        if plan.action == "rollback":
            dep = by_name[plan.name]
            try:
                patch_deployment(api_client, namespace, plan.name, rollback_patch(plan, dep, decided_at), module.check_mode)
            except (ApiException, TransportError, OSError) as exc:
                msg = "Patching Deployment %s/%s failed: %s" % (namespace, plan.name, describe_k8s_error(exc))
                if getattr(exc, "status", None) in (409, 422) and _changed_since(api_client, namespace, dep):
                    # The patch's test of resourceVersion failed: someone changed it after we decided.
                    msg = ("Deployment %s/%s changed while the rollback was being decided; nothing was patched for it. "
                           "Run again to decide against its new state." % (namespace, plan.name))
                row.update(status="failed", changed=False, message=msg)
                rows.append(row)
                done = [r["name"] for r in rows if r["changed"]]
                if done:
                    msg += " Already patched (not waited on): %s; run again to finish, it continues to the same targets." % ", ".join(done)
                fail(msg, changed=bool(done) and not module.check_mode,
                     deployments=rows + [dict(p.summary(), changed=False, status="not_started", message="") for p in plans[len(rows):]])
            row["status"] = "would_roll_back" if module.check_mode else "patched"
        rows.append(row)

    changed = any(r["changed"] for r in rows)
    if params["wait"] and not module.check_mode:
        waits = wait_for_rollouts(api_client, [(namespace, r["name"]) for r in rows], params["wait_timeout"])
        try:
            replicasets = list_replicasets(api_client, namespace)
        except (ApiException, TransportError, OSError):
            replicasets = []
        for row, w in zip(rows, waits):
            row["seconds"] = w.seconds
            row["status"] = {"done": "rolled_out" if row["changed"] else "already_at_target"}.get(w.state, w.state)
            if w.state != "done":
                row["message"] = w.message
            elif row["changed"]:
                row["message"] = "rolled back (%s): %s" % (row["reason"], w.message)
            else:
                row["message"] = "already at target: " + row["reason"]
            if w.last:
                row["revision_after"] = revision_of(w.last)
                row["leftovers"] = leftover_replicasets(w.last, replicasets)

    resumed = {p.name for p in plans if p.resume}

    def release(row, after):
        moved = after and row["changed"]
        state = {"revision": row["revision_to" if moved else "revision_from"], "images": row["images_to" if moved else "images_from"]}
        if row["name"] in resumed:
            state["paused"] = not moved
        return state

    diff = {
        "before": {"%s/%s" % (namespace, r["name"]): release(r, False) for r in rows},
        "after": {"%s/%s" % (namespace, r["name"]): release(r, True) for r in rows},
    }
    result = dict(changed=changed, deployments=rows, api_server=api_client.configuration.host,
                  duration_seconds=round(time.monotonic() - started, 2))
    if module._diff:
        result["diff"] = diff
    bad = [r for r in rows if r["status"] in ("failed", "timeout", "deleted", "not_found", "error")]
    if bad:
        module.fail_json(
            msg="Rollback did not complete for %d of %d Deployment(s): %s"
            % (len(bad), len(rows), "; ".join("%s/%s %s: %s" % (r["namespace"], r["name"], r["status"], r["message"]) for r in bad)),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
