# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: drill_report
short_description: The quarterly drill's report and record from each method's run
version_added: 0.1.0
description:
  - "From each drilled method's results (method number, seconds the method's playbook took, its return code and the
    verification's), the runbook's Test Checklist and Test Metrics: pass or fail and time against the method's target
    from the runbook's Rollback Timeframes, the 10-minute target for any P0/P1 rollback, and the record: the date
    tested and the next drill due 90 days later."
options:
  _input:
    description: "A list of C(method), C(seconds), C(rc), C(verify_rc)."
    type: list
    elements: dict
    required: true
  tested_at:
    description: When the drill ran (UTC, V(2026-12-04T03:00:00Z)).
    type: str
    required: true
  environment:
    description: The inventory's environment.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Report
  ansible.builtin.set_fact:
    drill: "{{ drill_results | easymo.rollback.drill_report(tested_at='2026-12-04T03:00:00Z', environment='lab') }}"
"""

RETURN = r"""
_value:
  description: C(methods) (each with name, seconds, target_seconds, within_target, passed), C(passed), C(tested_on), C(next_due), C(markdown).
  type: dict
"""

import typing as t
from datetime import datetime, timedelta, timezone

from ansible.errors import AnsibleFilterError
from ansible_collections.easymo.rollback.plugins.module_utils._runbook import METHODS

P0_P1_TARGET_SECONDS = 600
CHECKLIST = {1: "Feature flag disable (Method 1)", 2: "Partial rollout reduction (Method 2)", 3: "Service rollback (Method 3)",
             4: "Edge function rollback (Method 4)", 5: "Database restore (Method 5) - Staging Only!"}


def drill_report(results: list[dict[str, t.Any]], tested_at: str, environment: str = "") -> dict[str, t.Any]:
    try:
        when = datetime.strptime(tested_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        raise AnsibleFilterError("drill_report: tested_at must be a UTC time like 2026-12-04T03:00:00Z, got %r" % (tested_at,))
    methods = []
    for r in results:
        number = int(r.get("method", 0))
        if number not in METHODS:
            raise AnsibleFilterError("drill_report: method %r is not one of 1-5" % (r.get("method"),))
        seconds = float(r.get("seconds") or 0)
        target = METHODS[number]["target_seconds"]
        ok = int(r.get("rc", 1)) == 0 and int(r.get("verify_rc", 1)) == 0
        methods.append({"method": number, "name": METHODS[number]["name"], "checklist": CHECKLIST[number],
                        "seconds": round(seconds, 2), "target_seconds": target, "within_target": seconds <= target,
                        "rollback_ok": int(r.get("rc", 1)) == 0, "verified": int(r.get("verify_rc", 1)) == 0,
                        "passed": ok and seconds <= target})
    passed = bool(methods) and all(m["passed"] for m in methods)
    record = {"tested_on": when.strftime("%Y-%m-%d"), "next_due": (when + timedelta(days=90)).strftime("%Y-%m-%d")}
    lines = ["# Rollback drill: %s" % (environment or "unknown environment"), "",
             "Tested: %s  " % when.strftime("%Y-%m-%d %H:%M UTC"), "Result: %s" % ("PASS" if passed else "FAIL"), "",
             "## Test Checklist", ""]
    for m in methods:
        lines.append("- [%s] %s" % ("x" if m["passed"] else " ", m["checklist"]))
    lines += ["", "## Test Metrics", "", "| Method | Rollback | Verified | Time | Target | |", "| --- | --- | --- | ---: | ---: | --- |"]
    for m in methods:
        lines.append("| %d %s | %s | %s | %.1f s | %d s | %s |" % (
            m["method"], m["name"], "ok" if m["rollback_ok"] else "FAILED", "yes" if m["verified"] else "NO",
            m["seconds"], m["target_seconds"], "ok" if m["within_target"] else "**OVER TARGET**"))
    fastest_full = [m for m in methods if m["method"] in (1, 3)]
    if fastest_full:
        total = sum(m["seconds"] for m in fastest_full)
        lines += ["", "Time to execute a P0/P1 rollback (Methods 1 and 3): %.1f s, target < %d s: %s" % (
            total, P0_P1_TARGET_SECONDS, "ok" if total <= P0_P1_TARGET_SECONDS else "**OVER TARGET**")]
    lines += ["", "**Last Tested**: %s  " % record["tested_on"], "**Next Test**: %s" % record["next_due"], ""]
    return dict(methods=methods, passed=passed, environment=environment, tested_at=tested_at, markdown="\n".join(lines), **record)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"drill_report": drill_report}
