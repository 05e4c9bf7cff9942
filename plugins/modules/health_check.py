#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: health_check
short_description: Probe many health endpoints at once until each is healthy or a deadline passes
version_added: 0.1.0
description:
  - The runbook's C(curl -s https://api.easymo.com/health/$service | jq .status) loop, for every service at once.
  - Each endpoint is probed until it answers the expected status code and JSON fields, or the one deadline passes.
  - Answers are classified as V(healthy), V(unhealthy) (answered, but not as expected) or V(unreachable).
  - Changes nothing.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - easymo.rollback.probe
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Probing changes nothing, so it runs in check mode too.
  diff_mode:
    support: none
options:
  base_url:
    description:
      - Base URL of the health API; each service is probed at C(<base_url>/health/<service>).
      - Use with O(services).
    type: str
  services:
    description: Service names to probe under O(base_url).
    type: list
    elements: str
  targets:
    description: Explicit endpoints, each with a C(name) and a C(url). Used in addition to O(services).
    type: list
    elements: dict
    default: []
  expected_status:
    description: HTTP status code of a healthy answer.
    type: int
    default: 200
  expected_json:
    description: Fields a healthy JSON answer must carry, with their values.
    type: dict
    default: {status: healthy}
  headers:
    description: Extra request headers, for example an authorization header. Not logged.
    type: dict
"""

EXAMPLES = r"""
- name: Every service answers healthy
  easymo.rollback.health_check:
    base_url: https://api.easymo.com
    services: [agent-core, ranking-service, wallet-service, buyer-service]
    timeout: 120
"""

RETURN = r"""
endpoints:
  description: One entry per endpoint.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Service or target name.
      type: str
      returned: always
    url:
      description: URL probed.
      type: str
      returned: always
    healthy:
      description: Whether the last answer was healthy.
      type: bool
      returned: always
    verdict:
      description: V(healthy), V(unhealthy) or V(unreachable).
      type: str
      returned: always
    reason:
      description: Why.
      type: str
      returned: always
    status_code:
      description: Last HTTP status code.
      type: int
      returned: always
    body:
      description: Last answer (JSON or the start of the text).
      type: raw
      returned: always
    attempts:
      description: Number of probes.
      type: int
      returned: always
    seconds:
      description: Seconds until the last probe.
      type: float
      returned: always
unhealthy:
  description: Names of endpoints that were not healthy at the end.
  returned: always
  type: list
  elements: str
duration_seconds:
  description: Wall time of the module.
  returned: always
  type: float
"""

import time
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import (
    headers_problem,
    url_problem,
    HAS_REQUESTS,
    PROBE_ARG_SPEC,
    REQUESTS_IMPORT_ERROR,
    probe_all,
    probe_limits_error,
    redact_url,
    url_password,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            base_url=dict(type="str"),
            services=dict(type="list", elements="str"),
            targets=dict(type="list", elements="dict", default=[]),
            expected_status=dict(type="int", default=200),
            expected_json=dict(type="dict", default={"status": "healthy"}),
            headers=dict(type="dict", no_log=True),
            **PROBE_ARG_SPEC,
        ),
        required_together=[("base_url", "services")],
        supports_check_mode=True,
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    p = module.params
    started = time.monotonic()
    for url in [p["base_url"] or ""] + [str(tgt.get("url") or "") for tgt in p["targets"]]:
        secret = url_password(url)
        if secret:
            module.no_log_values.add(secret)  # masked in every result, message and the logged invocation
    targets = []
    if p["services"]:
        base = p["base_url"].rstrip("/")
        problem = url_problem(base, "base_url")
        if problem:
            module.fail_json(msg=problem + ".")
        empty = [i for i, svc in enumerate(p["services"]) if not svc or not svc.strip()]
        if empty:
            module.fail_json(msg="services[%s] is empty: name each service to probe." % ", ".join(map(str, empty)))
        targets += [(svc, "%s/health/%s" % (base, quote(svc, safe=""))) for svc in p["services"]]
    for i, tgt in enumerate(p["targets"]):
        if not isinstance(tgt.get("url"), str) or url_problem(tgt["url"], "url"):
            module.fail_json(msg="targets[%d] needs a url starting with http:// or https://, got %r." % (i, redact_url(str(tgt.get("url")))))
        targets.append((str(tgt.get("name") or redact_url(tgt["url"])), tgt["url"]))
    if not targets:
        module.fail_json(msg="Nothing to probe: give base_url with services, or targets.")
    problem = headers_problem(p["headers"])
    if problem:
        module.fail_json(msg=problem + ".")
    names = [target[0] for target in targets]
    dupes = sorted({name for name in names if names.count(name) > 1})
    if dupes:
        module.fail_json(msg="Endpoints named more than once: %s. Name each once." % ", ".join(dupes))
    problem = probe_limits_error(p)
    if problem:
        module.fail_json(msg=problem)

    results = probe_all(targets, p["timeout"], p["interval"], p["request_timeout"], p["expected_status"],
                        p["expected_json"], p["headers"], p["validate_certs"], wait=p["timeout"] > 0)
    endpoints = [r.as_dict() for r in results]
    unhealthy = [e["name"] for e in endpoints if not e["healthy"]]
    result = dict(changed=False, endpoints=endpoints, unhealthy=unhealthy, duration_seconds=round(time.monotonic() - started, 2))
    if unhealthy and p["fail_on_unhealthy"]:
        module.fail_json(msg="%d of %d endpoint(s) not healthy: %s" % (
            len(unhealthy), len(endpoints), "; ".join("%s (%s)" % (e["name"], e["reason"]) for e in endpoints if not e["healthy"])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
