#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollout_restart
short_description: Restart many Deployments at once and wait for them against one deadline
version_added: 0.1.0
description:
  - The runbook's C(kubectl rollout restart) + C(kubectl rollout status) for many Deployments at once.
  - kubectl stamps C(kubectl.kubernetes.io/restartedAt) with one-second precision, so two restarts within a second
    produce an empty patch and fail. This module stamps microseconds, so a second call (a retry loop) always
    succeeds and starts a second rollout.
  - With O(restarted_since), a Deployment whose pods were restarted at or after that time is not restarted again
    (idempotent re-runs of a playbook).
  - Paused Deployments are refused before anything changes.
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
    details: The restart patches are sent as server-side dry runs.
  diff_mode:
    support: full
    details: Shows the restartedAt annotation before and after.
options:
  restarted_since:
    description:
      - An RFC 3339 time (for example the start of the incident). Deployments last restarted at or after it are left alone.
    type: str
  wait:
    description: Wait until every restarted Deployment has rolled out.
    type: bool
    default: true
  wait_timeout:
    description: One deadline in seconds for all Deployments together.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Restart agent-core so it reads the new flags
  easymo.rollback.rollout_restart:
    namespace: easymo-prod
    names: [agent-core]
"""

RETURN = r"""
deployments:
  description: Per Deployment, C(name), C(restarted), C(restarted_at), C(status), C(message), C(seconds).
  returned: always
  type: list
  elements: dict
restarted:
  description: Names of the Deployments restarted by this run.
  returned: always
  type: list
  elements: str
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
    DEPLOYMENT_SELECTION_ARG_SPEC,
    SelectionError,
    patch_template_annotations,
    refuse_paused,
    restart_stamp,
    select_deployments,
    wait_for_rollouts,
)
from ansible_collections.easymo.rollback.plugins.module_utils._k8s_client import (
    K8S_AUTH_ARG_SPEC,
    ApiException,
    K8sAuthError,
    TransportError,
    build_api_client,
    describe_k8s_error,
)
from ansible_collections.easymo.rollback.plugins.module_utils._rollout import RESTARTED_AT, parse_k8s_time


def main():
    module = AnsibleModule(
        argument_spec=dict(
            K8S_AUTH_ARG_SPEC,
            **DEPLOYMENT_SELECTION_ARG_SPEC,
            restarted_since=dict(type="str"),
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
    since = None
    if p["restarted_since"]:
        text = p["restarted_since"].strip()
        since = parse_k8s_time(text) if re.search(r"(Z|[+-]\d\d:\d\d)$", text) else None
        if since is None:
            module.fail_json(msg="restarted_since must be an RFC 3339 time with a zone, like 2026-12-03T02:14:00Z, got %r." % p["restarted_since"])
        if since > datetime.now(timezone.utc):
            module.fail_json(msg="restarted_since %s is in the future: nothing could ever count as restarted after it." % text)
    try:
        api_client = build_api_client(p)
        deployments = select_deployments(api_client, ns, p["names"], p["label_selector"])
    except (K8sAuthError, SelectionError) as exc:
        module.fail_json(msg=str(exc))
    except (ApiException, TransportError, OSError) as exc:
        module.fail_json(msg="Reading Deployments in %s failed: %s" % (ns, describe_k8s_error(exc)))
    paused = refuse_paused(deployments, "restart")
    if paused:
        module.fail_json(msg="Nothing was changed. " + " ".join(paused))

    stamp = restart_stamp()
    rows, before, after = [], {}, {}
    for dep in deployments:
        name = dep["metadata"]["name"]
        last = ((dep["spec"]["template"].get("metadata") or {}).get("annotations") or {}).get(RESTARTED_AT)
        before[name] = last
        recent = False
        if since and last:
            last_time = parse_k8s_time(last)
            recent = last_time is not None and last_time >= since
        if recent:
            rows.append(dict(name=name, restarted=False, restarted_at=last, status="already_restarted",
                             message="restarted at %s, after %s" % (last, p["restarted_since"])))
            after[name] = last
            continue
        try:
            patch_template_annotations(api_client, ns, name, {RESTARTED_AT: stamp}, module.check_mode)
        except (ApiException, TransportError, OSError) as exc:
            rows.append(dict(name=name, restarted=False, restarted_at=last, status="failed", message=describe_k8s_error(exc)))
            module.fail_json(msg="Restarting Deployment %s/%s failed: %s" % (ns, name, describe_k8s_error(exc)), deployments=rows)
        rows.append(dict(name=name, restarted=True, restarted_at=stamp, status="would_restart" if module.check_mode else "restarted", message=""))
        after[name] = stamp

    if p["wait"] and not module.check_mode:
        for row, w in zip(rows, wait_for_rollouts(api_client, [(ns, r["name"]) for r in rows], p["wait_timeout"])):
            row["seconds"] = w.seconds
            if w.state == "done":
                row["status"] = "rolled_out" if row["restarted"] else row["status"]
                row["message"] = w.message if row["restarted"] else row["message"]
            else:
                row["status"], row["message"] = w.state, w.message
    restarted = [r["name"] for r in rows if r["restarted"]]
    result = dict(changed=bool(restarted), deployments=rows, restarted=restarted, duration_seconds=round(time.monotonic() - started, 2))
    if module._diff:
        result["diff"] = {"before": {n: {RESTARTED_AT: v} for n, v in before.items()}, "after": {n: {RESTARTED_AT: v} for n, v in after.items()}}
    bad = [r for r in rows if r["status"] not in ("rolled_out", "restarted", "would_restart", "already_restarted")]
    if bad:
        module.fail_json(msg="Restart did not complete: %s" % "; ".join("%s/%s %s: %s" % (ns, r["name"], r["status"], r["message"]) for r in bad), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
