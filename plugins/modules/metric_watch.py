#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: metric_watch
short_description: Watch JSON metrics until they stay within thresholds, or hold them for a soak window
version_added: 0.1.0
description:
  - The runbook's C(watch -n 5 'curl -s https://api.easymo.com/metrics/errors | jq ".error_rate"'), with a verdict.
  - Polls O(url), takes the number at O(path), and succeeds once O(samples) consecutive samples are below O(below)
    (or above O(above)); fails when O(timeout) passes first. Returns every sample.
  - Several metrics of the same answer can be watched at once with O(checks) (error rate, p95 latency,
    throughput); a sample meets the thresholds only when every check does.
  - With O(hold), a soak (the runbook's "metrics stable for 1 hour") - every sample for O(hold) seconds must meet the
    thresholds, and the first one that does not fails at once, naming the metric.
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
    description: Where the number is, like jq (V(.error_rate), V(data.rates[0])). Use this or O(checks).
    type: str
  checks:
    description: Several metrics of the same answer, each with its bound. Use this or O(path).
    type: list
    elements: dict
    suboptions:
      name:
        description: The metric's name in the results (default its path).
        type: str
      path:
        description: Where the number is.
        type: str
        required: true
      below:
        description: The value must be strictly below this.
        type: float
      above:
        description: The value must be strictly above this.
        type: float
  hold:
    description:
      - Seconds the thresholds must hold in every sample (a soak). The first breach or unavailable sample fails.
      - With it, O(samples) and O(timeout) are not used.
    type: float
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

- name: "Success criteria: error rate, p95 and throughput stable for an hour"
  easymo.rollback.metric_watch:
    url: https://api.easymo.com/metrics/summary
    checks:
      - {name: error_rate, path: .error_rate, below: 0.01}
      - {name: p95_latency, path: .p95_latency_seconds, below: 1}
      - {name: throughput, path: .throughput_rpm, above: 960}
    hold: 3600
    interval: 30
"""

RETURN = r"""
last_values:
  description: The last number of each check, by name (null when unavailable).
  returned: always
  type: dict
passed:
  description: Whether the threshold held for the required samples before the deadline.
  returned: always
  type: bool
last_value:
  description: The last number read (null when none).
  returned: always
  type: float
series:
  description: >-
    Every sample, with C(t) (seconds since start), C(value) (the first check's number, null when unavailable),
    C(values) (every check's) and C(note).
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
    evaluate_metrics,
    fetch,
    metric_checks_problem,
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
            path=dict(type="str"),
            below=dict(type="float"),
            above=dict(type="float"),
            checks=dict(type="list", elements="dict", options=dict(
                name=dict(type="str"), path=dict(type="str", required=True),
                below=dict(type="float"), above=dict(type="float"))),
            hold=dict(type="float"),
            samples=dict(type="int", default=3),
            interval=dict(type="float", default=5),
            timeout=dict(type="int", default=120),
            request_timeout=dict(type="float", default=5),
            headers=dict(type="dict", no_log=True),
            validate_certs=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("below", "above"), ("path", "checks"), ("below", "checks"), ("above", "checks")],
        required_one_of=[("path", "checks")],
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
    if p["path"] is not None and p["below"] is None and p["above"] is None:
        module.fail_json(msg="path %s needs a bound: below or above." % p["path"])
    checks = p["checks"] or [{"name": p["path"], "path": p["path"], "below": p["below"], "above": p["above"]}]
    if not checks:
        module.fail_json(msg="checks is empty; give at least one metric with a path and a bound.")
    problem = metric_checks_problem(checks)
    if problem:
        module.fail_json(msg=problem + ".")
    limits = [("samples", p["samples"], 1, 10000), ("interval", p["interval"], 0.01, 3600),
              ("timeout", p["timeout"], 1, 86400), ("request_timeout", p["request_timeout"], 0.01, 3600)]
    if p["hold"] is not None:
        limits.append(("hold", p["hold"], 0, 7 * 86400))
    for option, value, low, high in limits:
        if not (math.isfinite(value) and low <= value <= high):
            module.fail_json(msg="%s must be from %s to %s, got %s." % (option, low, high, value))
    if p["hold"] is None and (p["samples"] - 1) * p["interval"] > p["timeout"]:
        module.fail_json(msg="%d samples %s s apart take longer than timeout=%s s, so the watch could never pass; lower "
                             "samples or interval, or raise timeout." % (p["samples"], p["interval"], p["timeout"]))
    names = [c.get("name") or c["path"] for c in checks]
    started = time.monotonic()
    deadline = started + (p["hold"] if p["hold"] is not None else p["timeout"])
    series, streak, last = [], 0, {n: None for n in names}

    def finish(passed: bool, reason: str) -> None:
        result = dict(changed=False, passed=passed, last_value=last[names[0]], last_values=last, series=series,
                      reason=reason)
        if passed:
            module.exit_json(**result)
        module.fail_json(msg=reason, **result)

    with requests.Session() as session:
        while True:
            answer = fetch(session, p["url"], p["request_timeout"], p["headers"], p["validate_certs"])
            t_rel = round(time.monotonic() - started, 2)
            if answer.error or answer.status_code != 200:
                why = answer.error or "HTTP %s" % answer.status_code
                values, problems = {n: None for n in names}, ["metrics unavailable: %s" % why]
            else:
                values, problems = evaluate_metrics(answer.body, checks)
            last.update({n: v for n, v in values.items() if v is not None})
            series.append({"t": t_rel, "value": values[names[0]], "values": values, "note": "; ".join(problems) or "ok"})
            streak = 0 if problems else streak + 1
            if p["hold"] is not None and problems:
                finish(False, "soak failed after %s s of %s s: %s" % (t_rel, p["hold"], "; ".join(problems)))
            if p["hold"] is None and streak >= p["samples"]:
                finish(True, "%d samples in a row within thresholds (last %s)" % (streak, _fmt_values(values)))
            if time.monotonic() + p["interval"] > deadline:
                break
            time.sleep(p["interval"])
    if p["hold"] is not None:
        finish(True, "every one of %d samples over %s s within thresholds (last %s)" % (len(series), p["hold"], _fmt_values(last)))
    if all(v is None for s in series for v in s["values"].values()):
        finish(False, "%s (for %d s)" % (series[-1]["note"], p["timeout"]))
    finish(False, "thresholds not held for %d samples within %d s; last sample: %s" % (p["samples"], p["timeout"], series[-1]["note"]))


def _fmt_values(values: dict) -> str:
    return ", ".join("%s %s" % (k, v) for k, v in values.items())


if __name__ == "__main__":
    main()
