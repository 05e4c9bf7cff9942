#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: feature_flags
short_description: Set feature flags in a ConfigMap, validated by type, and restart the consumers that read them
version_added: 0.1.0
description:
  - The runbook's C(kubectl patch configmap feature-flags) followed by C(kubectl rollout restart) of the consumers,
    made safe and idempotent.
  - Values are validated before anything changes. Booleans are written as V(true) or V(false); keys ending in
    C(_PERCENTAGE) must be whole numbers from 0 to 100 (V(15%), V(150), V(-1) and V(abc) are refused); keys ending in
    C(_ALLOWLIST), C(_DENYLIST), C(_LIST) or C(_USERS) are lists of ids (a list or a comma-separated string, written
    as V(a,b,c), no blanks or spaces); other C(FEATURE_*) keys are booleans unless O(types) says otherwise.
    A value of V(null) removes the key, so the returned RV(previous) can be passed back as O(flags) to roll forward.
  - O(mode=merge) sets the given keys and keeps the others; O(mode=replace) leaves only the given keys. O(remove)
    deletes keys. The diff shows additions, changes and removals.
  - Environment variables never see ConfigMap updates, so consumers must restart. Each consumer's pod template carries
    the hash of the flags its pods started with (annotation C(rollback.easymo.com/flags-sha256)). A consumer is
    restarted when any of its running pods started before the ConfigMap was last written, since a container reads
    its environment when it starts. The hash decides only where time cannot (a pod started in the same second as the
    write, or a ConfigMap without managedFields), so the old hash a Deployment rollback brings back on the template
    causes no needless restart. A second run therefore changes nothing, and a run after a failed restart, or after
    a hand edit, restarts what is still stale.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - easymo.rollback.k8s_auth
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: The ConfigMap and restart patches are sent as server-side dry runs.
  diff_mode:
    support: full
    details: Shows the flags before and after.
options:
  namespace:
    description: Namespace of the ConfigMap and its consumers.
    type: str
    required: true
  name:
    description: Name of the ConfigMap.
    type: str
    default: feature-flags
  flags:
    description: Keys and values to set. Mutually exclusive with O(definition).
    type: dict
  definition:
    description:
      - A ConfigMap-like mapping whose top-level C(data) holds the flags to set (for flags kept as manifests).
      - C(data) nested under C(metadata) is refused.
    type: dict
  mode:
    description: V(merge) keeps keys not given; V(replace) keeps only the given keys.
    type: str
    choices: [merge, replace]
    default: merge
  remove:
    description: Keys to delete.
    type: list
    elements: str
    default: []
  types:
    description: Type of a key when its name does not say (V(bool), V(percentage), V(int), V(string) or V(idlist)).
    type: dict
    default: {}
  restart:
    description: Deployments that read the flags (environment variables) and must restart to see them.
    type: list
    elements: str
    default: []
  wait:
    description: Wait until the restarted consumers have rolled out.
    type: bool
    default: true
  wait_timeout:
    description: One deadline in seconds for all consumers together.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Kill switch - disable the AI features and restart agent-core
  easymo.rollback.feature_flags:
    namespace: easymo-prod
    flags:
      FEATURE_AI_AGENTS: false
      FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE: 0
    restart: [agent-core]
"""

RETURN = r"""
configmap:
  description: Namespace/name of the ConfigMap.
  returned: always
  type: str
previous:
  description: The value each touched key had before (null when it did not exist); feed it back to roll forward.
  returned: always
  type: dict
added:
  description: Keys added.
  returned: always
  type: list
  elements: str
changed_keys:
  description: Keys whose value changed.
  returned: always
  type: list
  elements: str
removed:
  description: Keys removed.
  returned: always
  type: list
  elements: str
data:
  description: The flags after the change.
  returned: always
  type: dict
flags_sha256:
  description: Hash of the flags after the change, as carried by up-to-date consumers.
  returned: always
  type: str
restarted:
  description: Names of the consumers restarted by this run.
  returned: always
  type: list
  elements: str
consumers:
  description:
    - Per consumer, C(name), C(restarted), C(reason) (why it was or was not restarted), C(status), C(message), C(seconds),
      C(pods) (running pods) and C(pods_on_other_flags)
      (pods that did not start with these flags).
    - C(status) is V(rolled_out), V(up_to_date), V(would_restart), V(stale_pods) or a wait failure.
  returned: always
  type: list
  elements: dict
duration_seconds:
  description: Wall time of the module.
  returned: always
  type: float
"""

import re
import time
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.easymo.rollback.plugins.module_utils._deployments import (
    SelectionError,
    patch_template_annotations,
    pods_by_deployment,
    refuse_paused,
    restart_stamp,
    select_deployments,
    validate_namespace,
    wait_for_rollouts,
)
from ansible_collections.easymo.rollback.plugins.module_utils._flags import (
    FlagError,
    data_from_definition,
    flags_hash,
    last_written,
    plan_flags,
    pods_on_other_flags,
)
from ansible_collections.easymo.rollback.plugins.module_utils._rollout import FLAGS_HASH_ANNOTATION, RESTARTED_AT
from ansible_collections.easymo.rollback.plugins.module_utils._k8s_client import (
    K8S_AUTH_ARG_SPEC,
    ApiException,
    K8sAuthError,
    TransportError,
    describe_k8s_error,
    build_api_client,
)

try:
    from kubernetes import client as k8s_client
except ImportError:  # reported by the client factory
    pass


def main():
    module = AnsibleModule(
        argument_spec=dict(
            K8S_AUTH_ARG_SPEC,
            namespace=dict(type="str", required=True),
            name=dict(type="str", default="feature-flags"),
            flags=dict(type="dict"),
            definition=dict(type="dict"),
            mode=dict(type="str", choices=["merge", "replace"], default="merge"),
            remove=dict(type="list", elements="str", default=[]),
            types=dict(type="dict", default={}),
            restart=dict(type="list", elements="str", default=[]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
        ),
        mutually_exclusive=[("flags", "definition")],
        required_one_of=[("flags", "definition", "remove")],
        supports_check_mode=True,
    )
    p = module.params
    started = time.monotonic()
    ns, name = p["namespace"], p["name"]
    ref = "ConfigMap %s/%s" % (ns, name)
    if p["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be a positive number of seconds, got %d." % p["wait_timeout"])
    if not re.match(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", name or ""):
        module.fail_json(msg="name %r is not a ConfigMap name (lowercase letters, digits, '-' and '.'); the runbook's is "
                             "feature-flags. Nothing was changed." % (name,))
    try:
        validate_namespace(ns)
        flags = data_from_definition(p["definition"]) if p["definition"] is not None else (p["flags"] or {})
    except (SelectionError, FlagError) as exc:
        module.fail_json(msg="%s: %s" % (ref, exc))

    try:
        api_client = build_api_client(p)
        core = k8s_client.CoreV1Api(api_client)
        try:
            cm = api_client.sanitize_for_serialization(core.read_namespaced_config_map(name, ns))
        except ApiException as exc:
            if exc.status == 404:
                module.fail_json(msg="%s not found. Check namespace and name (the runbook's is feature-flags in easymo-prod)." % ref)
            raise
        consumers = select_deployments(api_client, ns, p["restart"], None) if p["restart"] else []
    except K8sAuthError as exc:
        module.fail_json(msg=str(exc))
    except SelectionError as exc:
        module.fail_json(msg="Consumers to restart: %s Nothing was changed." % exc)
    except (ApiException, TransportError, OSError) as exc:
        module.fail_json(msg="Reading %s failed: %s" % (ref, describe_k8s_error(exc)))

    try:
        plan = plan_flags(cm.get("data") or {}, flags, p["mode"], p["remove"], p["types"])
    except FlagError as exc:
        module.fail_json(msg="%s: %s" % (ref, exc))
    paused = refuse_paused(consumers, "restart")
    if paused:
        module.fail_json(msg="Nothing was changed. " + " ".join(paused))

    digest = flags_hash(plan.after)
    dry_run = module.check_mode
    result = dict(configmap="%s/%s" % (ns, name), previous=plan.previous_values(), added=plan.added, changed_keys=plan.changed,
                  removed=plan.removed, data=plan.after, flags_sha256=digest, restarted=[], consumers=[])
    step = "Updating %s failed, nothing was changed" % ref
    try:
        written = cm
        if plan.has_changes:
            # A merge patch guarded by resourceVersion: null deletes a key; a concurrent edit is a conflict, not a loss.
            patch = {"metadata": {"resourceVersion": cm["metadata"]["resourceVersion"]},
                     "data": dict({k: plan.after[k] for k in plan.added + plan.changed}, **{k: None for k in plan.removed})}
            written = api_client.sanitize_for_serialization(
                core.patch_namespaced_config_map(name, ns, patch, **({"dry_run": "All"} if dry_run else {})))
        # In check mode the write did not happen: every pod that exists now would be older than it.
        written_at = datetime.now(timezone.utc) if dry_run and plan.has_changes else last_written(written)
        step = "%s was updated, but restarting its consumers failed" % ref
        pods = pods_by_deployment(api_client, ns, consumers) if consumers else {}
        stamp = restart_stamp()
        for dep in consumers:
            dname = dep["metadata"]["name"]
            stale = pods_on_other_flags(pods[dname], digest, FLAGS_HASH_ANNOTATION, written_at)
            if not stale:
                reason = "every running pod started with these flags"
                result["consumers"].append(dict(name=dname, restarted=False, status="up_to_date", message=reason, reason=reason))
                continue
            # The hash tags the new pods with the flags they read; restartedAt forces a rollout even when the
            # hash is unchanged (pods restarted by hand before the flags last changed).
            patch_template_annotations(api_client, ns, dname, {FLAGS_HASH_ANNOTATION: digest, RESTARTED_AT: stamp}, dry_run)
            result["restarted"].append(dname)
            why = "pods %s started before the flags were last written" % ", ".join(stale)
            result["consumers"].append(dict(name=dname, restarted=True, status="would_restart" if dry_run else "restarted",
                                            message="restarted: " + why, reason=why))
    except (ApiException, TransportError, OSError) as exc:
        if step.startswith("Updating"):
            result.update(data=plan.before, added=[], changed_keys=[], removed=[])
        if isinstance(exc, ApiException) and exc.status == 409:
            module.fail_json(msg="%s was changed by someone else while this ran; nothing was changed. Run again to apply on top of "
                                 "the new state." % ref, **result)
        module.fail_json(msg="%s: %s" % (step, describe_k8s_error(exc)[:2000]), **result)

    if p["wait"] and not dry_run and consumers:
        waits = wait_for_rollouts(api_client, [(ns, c["name"]) for c in result["consumers"]], p["wait_timeout"])
        for row, w in zip(result["consumers"], waits):
            row["seconds"] = w.seconds
            if w.state == "done":
                row["status"] = "rolled_out" if row["restarted"] else "up_to_date"
                row["message"] = w.message if row["restarted"] else row["message"]
            else:
                row["status"], row["message"] = w.state, w.message
        # Verify from each pod's own spec that every running pod started with these flags.
        try:
            pods = pods_by_deployment(api_client, ns, consumers)
        except (ApiException, TransportError, OSError) as exc:
            module.fail_json(msg="Flags set, but reading the consumers' pods failed: %s" % describe_k8s_error(exc), **result)
        for row in result["consumers"]:
            own = pods[row["name"]]
            row["pods"] = len([pod for pod in own if not pod["metadata"].get("deletionTimestamp")])
            row["pods_on_other_flags"] = pods_on_other_flags(own, digest, FLAGS_HASH_ANNOTATION, written_at)
            if row["pods_on_other_flags"] and row["status"] in ("rolled_out", "up_to_date"):
                row["status"] = "stale_pods"
                row["message"] = "pods still running other flags: %s" % ", ".join(row["pods_on_other_flags"])

    result["changed"] = plan.has_changes or bool(result["restarted"])
    result["duration_seconds"] = round(time.monotonic() - started, 2)
    if module._diff:
        result["diff"] = {"before": {k: plan.before[k] for k in sorted(plan.before)}, "after": {k: plan.after[k] for k in sorted(plan.after)},
                          "before_header": result["configmap"], "after_header": result["configmap"]}
    bad = [c for c in result["consumers"] if c["status"] not in ("rolled_out", "up_to_date", "would_restart", "restarted")]
    if bad:
        details = "; ".join("%s %s: %s" % (c["name"], c["status"], c["message"]) for c in bad)
        module.fail_json(msg="Flags set, but consumers did not roll out on them: %s" % details, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
