#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: metric_watch
short_description: Watch a JSON metric until it stays below (or above) a threshold
version_added: 0.1.0
description:
  - The runbook's C(watch -n 5 'curl -s https://api.easymo.com/metrics/errors | jq ".error_rate"'), with a verdict.
  - Polls O(url), takes the number at O(path), and succeeds once O(samples) consecutive samples are below O(below)
    (or above O(above)); fails when O(timeout) passes first. Returns every sample.
  - An HTML page, an error status or a non-numeric value is a sample marked "metrics unavailable", not a crash.
  - Changes nothing.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Reading metrics changes nothing, so it runs in check mode too.
  diff_mode:
    support: none
options:
  url:
    description: JSON endpoint to poll.
    type: str
    required: true
  path:
    description: Where the number is, like jq (V(.error_rate), V(data.rates[0])).
    type: str
    required: true
  below:
    description: Succeed when the value stays strictly below this.
    type: float
  above:
    description: Succeed when the value stays strictly above this.
    type: float
  samples:
    description: How many consecutive samples must meet the threshold.
    type: int
    default: 3
  interval:
    description: Seconds between samples.
    type: float
    default: 5
  timeout:
    description: Seconds until giving up.
    type: int
    default: 120
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 5
  headers:
    description: Extra request headers, for example an authorization header. Not logged.
    type: dict
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
requirements:
  - requests
"""

EXAMPLES = r"""
- name: Error rate back under 1 % for three samples in a row
  easymo.rollback.metric_watch:
    url: https://api.easymo.com/metrics/errors
    path: .error_rate
    below: 0.01
    samples: 3
    interval: 5
    timeout: 180
"""

RETURN = r"""
passed:
  description: Whether the threshold held for the required samples before the deadline.
  returned: always
  type: bool
last_value:
  description: The last number read (null when none).
  returned: always
  type: float
series:
  description: Every sample, with C(t) (seconds since start), C(value) (null when unavailable) and C(note).
  returned: always
  type: list
  elements: dict
reason:
  description: Why it passed or failed.
  returned: always
  type: str
"""

import math
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import (
    headers_problem,
    url_problem,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    MetricUnavailable,
    extract_number,
    fetch,
    url_password,
)

try:
    import requests
except ImportError:  # reported through HAS_REQUESTS
    pass


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            path=dict(type="str", required=True),
            below=dict(type="float"),
            above=dict(type="float"),
            samples=dict(type="int", default=3),
            interval=dict(type="float", default=5),
            timeout=dict(type="int", default=120),
            request_timeout=dict(type="float", default=5),
            headers=dict(type="dict", no_log=True),
            validate_certs=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("below", "above")],
        required_one_of=[("below", "above")],
        supports_check_mode=True,
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    p = module.params
    secret = url_password(p["url"])
    if secret:
        module.no_log_values.add(secret)
    problem = url_problem(p["url"], "url") or headers_problem(p["headers"])
    if problem:
        module.fail_json(msg=problem + ".")
    for option in ("below", "above"):
        if p[option] is not None and not math.isfinite(p[option]):
            module.fail_json(msg="%s must be a finite number, got %s." % (option, p[option]))
    limits = [("samples", p["samples"], 1, 10000), ("interval", p["interval"], 0.01, 3600),
              ("timeout", p["timeout"], 1, 86400), ("request_timeout", p["request_timeout"], 0.01, 3600)]
    for option, value, low, high in limits:
        if not low <= value <= high:
            module.fail_json(msg="%s must be from %s to %s, got %s." % (option, low, high, value))
    if (p["samples"] - 1) * p["interval"] > p["timeout"]:
        module.fail_json(msg="%d samples %s s apart take longer than timeout=%s s, so the watch could never pass; lower "
                             "samples or interval, or raise timeout." % (p["samples"], p["interval"], p["timeout"]))
    below, above = p["below"], p["above"]
    started = time.monotonic()
    deadline = started + p["timeout"]
    series, streak, last = [], 0, None
    with requests.Session() as session:
        while True:
            answer = fetch(session, p["url"], p["request_timeout"], p["headers"], p["validate_certs"])
            t_rel = round(time.monotonic() - started, 2)
            try:
                if answer.error:
                    raise MetricUnavailable(answer.error)
                if answer.status_code != 200:
                    raise MetricUnavailable("HTTP %s" % answer.status_code)
                value = extract_number(answer.body, p["path"])
            except MetricUnavailable as exc:
                series.append({"t": t_rel, "value": None, "note": "metrics unavailable: %s" % exc})
                streak = 0
            else:
                last = value
                ok = value < below if below is not None else value > above
                streak = streak + 1 if ok else 0
                series.append({"t": t_rel, "value": value, "note": "ok" if ok else "outside threshold"})
            if streak >= p["samples"]:
                side, bound = ("below", below) if below is not None else ("above", above)
                module.exit_json(changed=False, passed=True, last_value=last, series=series,
                                 reason="%d samples in a row %s %s (last %s)" % (streak, side, bound, last))
            if time.monotonic() + p["interval"] > deadline:
                break
            time.sleep(p["interval"])
    unavailable = all(s["value"] is None for s in series)
    reason = ("%s (for %d s)" % (series[-1]["note"], p["timeout"]) if unavailable else
              "threshold not held for %d samples within %d s; last value %s" % (p["samples"], p["timeout"], last))
    module.fail_json(msg=reason, passed=False, last_value=last, series=series, reason=reason)


if __name__ == "__main__":
    main()
