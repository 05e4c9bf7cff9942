#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: edge_function_health
short_description: Probe Supabase Edge Functions until the expected version is served, and say why not
version_added: 0.1.0
description:
  - The runbook's C(curl https://<ref>.supabase.co/functions/v1/<name>/_health), expecting
    C({"status":"healthy","version":<expected>}), for several functions at once.
  - The platform may serve the previous code for minutes after a successful deploy, so each function is probed
    until the expected version appears or the one deadline passes.
  - "Answers are classified: V(healthy); V(old_version) (healthy, but another version); V(jwt_gate) (401: verify_jwt
    is on and no or a bad Authorization header was sent; probing stops at once); V(blob_missing) (404
    C(NOT_FOUND_FUNCTION_BLOB) while the function is listed: redeploy); V(not_found); V(boot_error) (503
    C(BOOT_ERROR)); V(worker_error); V(unhealthy); V(unreachable)."
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
  names:
    description: Functions (slugs) to probe.
    type: list
    elements: str
    required: true
    aliases: [name]
  project_ref:
    description: The project ref; the functions are served at C(https://<project_ref>.supabase.co) unless O(functions_url) says otherwise.
    type: str
  functions_url:
    description:
      - Base URL serving C(/functions/v1/<name>).
      - Falls back to the environment variable E(SUPABASE_FUNCTIONS_URL), then C(https://<project_ref>.supabase.co).
    type: str
  path:
    description: Path under C(/functions/v1/<name>/) to probe.
    type: str
    default: _health
  expected_version:
    description:
      - The version a healthy answer must name, one string for all functions or a mapping of name to version
        (for example RV(easymo.rollback.edge_function_deploy#module:functions[].source_version)).
      - Without it any healthy answer passes.
    type: raw
  jwt:
    description:
      - A JWT (for example the anon key) sent as C(Authorization Bearer), for functions with verify_jwt on. Never logged.
      - Falls back to the environment variable E(SUPABASE_FUNCTIONS_JWT).
    type: str
"""

EXAMPLES = r"""
- name: wa-webhook serves the known-good version
  easymo.rollback.edge_function_health:
    project_ref: lhbowpbcpwoiparwnwgt
    names: [wa-webhook]
    expected_version: v1.4.2
    timeout: 300
"""

RETURN = r"""
functions:
  description: One entry per function.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The slug.
      type: str
      returned: always
    url:
      description: URL probed.
      type: str
      returned: always
    healthy:
      description: Whether the last answer was healthy with the expected version.
      type: bool
      returned: always
    verdict:
      description: The classification above.
      type: str
      returned: always
    reason:
      description: Why, in words (names both versions for V(old_version)).
      type: str
      returned: always
    expected_version:
      description: The version expected.
      type: str
      returned: always
    served_version:
      description: The version the last healthy-looking answer named.
      type: str
      returned: always
    status_code:
      description: Last HTTP status code.
      type: int
      returned: always
    body:
      description: Last answer.
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
    history:
      description: Each change of verdict with the time it was seen.
      type: list
      elements: str
      returned: always
unhealthy:
  description: Names of functions not healthy at the end.
  returned: always
  type: list
  elements: str
"""

import os
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
)
from ansible_collections.easymo.rollback.plugins.module_utils._supabase_api import (
    FINAL_HEALTH_VERDICTS,
    PROJECT_REF_RE,
    classify_function_health,
    slugs_problem,
)


def expected_for(expected, name):
    if isinstance(expected, dict):
        value = expected.get(name)
        return None if value is None else str(value)
    return None if expected is None else str(expected)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True, aliases=["name"]),
            project_ref=dict(type="str"),
            functions_url=dict(type="str"),
            path=dict(type="str", default="_health"),
            expected_version=dict(type="raw"),
            jwt=dict(type="str", no_log=True),
            **PROBE_ARG_SPEC,
        ),
        supports_check_mode=True,
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    p = module.params
    base = p["functions_url"] or os.environ.get("SUPABASE_FUNCTIONS_URL")
    if not base:
        if not PROJECT_REF_RE.match(p["project_ref"] or ""):
            module.fail_json(msg="give functions_url (or SUPABASE_FUNCTIONS_URL) or a project_ref of 20 lowercase letters; got %r."
                             % p["project_ref"])
        base = "https://%s.supabase.co" % p["project_ref"]
    problem = url_problem(base, "functions_url")
    if problem:
        module.fail_json(msg=problem + ".")
    problem = slugs_problem(p["names"])
    if problem:
        module.fail_json(msg=problem + ".")
    expected = p["expected_version"]
    if isinstance(expected, dict):
        missing = [n for n in p["names"] if expected.get(n) in (None, "")]
        if missing:
            module.fail_json(msg="expected_version names no version for %s: give one for every function (a missing one "
                                 "would let any version pass)." % ", ".join(missing))
        values = list(expected.values())
    else:
        values = [] if expected is None else [expected]
    if any(isinstance(v, bool) or not isinstance(v, (str, int, float)) for v in values) or any(str(v).strip() == "" for v in values):
        module.fail_json(msg="expected_version must be a version string (for example v1.4.2), or a mapping of function "
                             "name to version string; got %r." % (expected,))
    problem = probe_limits_error(p)
    if problem:
        module.fail_json(msg=problem)
    jwt = p["jwt"] or os.environ.get("SUPABASE_FUNCTIONS_JWT")
    headers = {"Authorization": "Bearer " + jwt} if jwt else None
    if jwt:
        module.no_log_values.add(jwt)
        problem = headers_problem(headers)
        if problem or " " in jwt:
            module.fail_json(msg="The jwt (or SUPABASE_FUNCTIONS_JWT) has spaces, a line break or another control character: "
                                 "give the bare token.")

    path = p["path"].strip("/")
    wants = {name: expected_for(p["expected_version"], name) for name in p["names"]}
    targets = [(name, "%s/functions/v1/%s/%s" % (base.rstrip("/"), quote(name, safe=""), path)) for name in p["names"]]
    # All functions at once against one deadline, through the collection's one prober.
    probed = probe_all(targets, p["timeout"], p["interval"], p["request_timeout"], headers=headers,
                       verify=p["validate_certs"], wait=p["timeout"] > 0, final_verdicts=FINAL_HEALTH_VERDICTS,
                       classifier=lambda name, answer: classify_function_health(answer, wants[name]))
    functions = []
    for res in probed:
        entry = res.as_dict()
        body = res.body if isinstance(res.body, dict) else {}
        entry.update(expected_version=wants[res.name], served_version=body.get("version"))
        functions.append(entry)
    unhealthy = [f["name"] for f in functions if not f["healthy"]]
    result = dict(changed=False, functions=functions, unhealthy=unhealthy)
    if unhealthy and p["fail_on_unhealthy"]:
        module.fail_json(msg="%d of %d function(s) not healthy: %s" % (
            len(unhealthy), len(functions), "; ".join("%s: %s after %.0f s" % (f["name"], f["reason"], f["seconds"])
                                                      for f in functions if not f["healthy"])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
