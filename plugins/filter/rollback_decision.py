# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rollback_decision
short_description: The runbook's decision matrix and tree, from a severity or from raw signals
version_added: 0.1.0
description:
  - "The runbook's matrix: P0 (system down) and P1 (error rate above 10 %) get the full rollback within 5 and 10
    minutes, starting with the feature-flag kill switch (Method 1), then the service rollback (Method 3) if that
    did not fix it; P2 (error rate 5 to 10 %) reduces the rollout (Method 2) within 15 minutes; P3 (minor issues) is
    monitored within 30 minutes; P4 (cosmetic) is a fix for the next sprint. The database rollback (Method 5) is
    never chosen here: it needs the engineering lead's explicit approval."
  - "From signals: O(system_down) is P0; an error rate above 10 % or a business-metric drop above 10 % is P1 (both
    are rollback triggers of the runbook that the matrix does not place, and a drop that large is treated like the
    worst error rate); an error rate from 5 % to 10 % or more than 10 complaints per hour is P2; any other error,
    complaint or drop is P3; nothing at all is P4."
  - Rates are fractions (V(0.07)) or percentages (V(7) or V("7%")); a value above 1 is read as a percentage.
  - A severity that is given wins over the signals. A bad severity or signal is an error naming it.
options:
  _input:
    description: The severity, V(P0) to V(P4) (case and spaces ignored), or an empty value to decide from signals.
    type: raw
    required: true
  error_rate:
    description: Current error rate.
    type: raw
  system_down:
    description: The system is down.
    type: bool
    default: false
  complaints_per_hour:
    description: User complaints per hour.
    type: raw
  business_drop:
    description: Drop of the business metrics (fraction or percentage).
    type: raw
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    plan: "{{ severity | default('') | easymo.rollback.rollback_decision(error_rate=0.12) }}"
"""

RETURN = r"""
_value:
  description: >-
    severity, reason, action, time_limit_minutes (null for P4), steps (method numbers in order, each after the
    previous one's verification failed; empty to monitor or schedule), verify (whether to run the verification), and
    database_rollback (always V(requires_approval)).
  type: dict
"""

import math
import typing as t

from ansible.errors import AnsibleFilterError
from ansible_collections.easymo.rollback.plugins.module_utils._runbook import MATRIX

METHOD_NAMES = {1: "feature flags", 2: "reduce rollout", 3: "service rollback", 4: "edge function", 5: "database"}


def _fraction(name: str, value: t.Any) -> float | None:
    """A rate as a fraction: 0.07, 7 and "7%" are all 7 %."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise AnsibleFilterError("rollback_decision: %s must be a number (0.07, 7 or '7%%'), got %r" % (name, value))
    if math.isnan(number) or number < 0:
        raise AnsibleFilterError("rollback_decision: %s must be 0 or more, got %r" % (name, value))
    if percent or number > 1:
        number /= 100.0
    if number > 1:
        raise AnsibleFilterError("rollback_decision: %s cannot be above 100%%, got %r" % (name, value))
    return number


def severity_from_signals(error_rate: float | None, system_down: bool, complaints: float | None,
                          business_drop: float | None) -> tuple[str, str]:
    if system_down:
        return "P0", "system down"
    if error_rate is not None and error_rate > 0.10:
        return "P1", "error rate %.1f%% > 10%%" % (error_rate * 100)
    if business_drop is not None and business_drop > 0.10:
        return "P1", "business metrics down %.1f%% > 10%%" % (business_drop * 100)
    if error_rate is not None and error_rate >= 0.05:
        return "P2", "error rate %.1f%% in 5-10%%" % (error_rate * 100)
    if complaints is not None and complaints > 10:
        return "P2", "%g complaints per hour > 10" % complaints
    if any(v for v in (error_rate, complaints, business_drop)):
        return "P3", "minor: error rate %s, complaints %s/h, business drop %s" % (
            "-" if error_rate is None else "%.1f%%" % (error_rate * 100), "-" if complaints is None else "%g" % complaints,
            "-" if business_drop is None else "%.1f%%" % (business_drop * 100))
    return "P4", "no error, complaint or drop reported"


def rollback_decision(severity: t.Any, error_rate: t.Any = None, system_down: t.Any = False,
                      complaints_per_hour: t.Any = None, business_drop: t.Any = None) -> dict[str, t.Any]:
    if not isinstance(system_down, bool):
        raise AnsibleFilterError("rollback_decision: system_down must be true or false, got %r" % (system_down,))
    if severity not in (None, ""):
        key = str(severity).strip().upper().replace(" ", "")
        if key not in MATRIX:
            raise AnsibleFilterError("rollback_decision: severity %r is not one of P0, P1, P2, P3, P4" % (severity,))
        reason = "severity %s given (%s)" % (key, MATRIX[key]["condition"])
    else:
        complaints = None  # a count, not a rate
        if complaints_per_hour not in (None, ""):
            try:
                complaints = float(complaints_per_hour)
            except (TypeError, ValueError):
                raise AnsibleFilterError("rollback_decision: complaints_per_hour must be a number, got %r" % (complaints_per_hour,))
            if math.isnan(complaints) or complaints < 0:
                raise AnsibleFilterError("rollback_decision: complaints_per_hour must be 0 or more, got %r" % (complaints_per_hour,))
        key, reason = severity_from_signals(_fraction("error_rate", error_rate), system_down, complaints,
                                            _fraction("business_drop", business_drop))
    row = MATRIX[key]
    return {"severity": key, "reason": reason, "condition": row["condition"], "action": row["action"],
            "time_limit_minutes": row["time_limit_minutes"], "steps": list(row["steps"]),
            "step_names": [METHOD_NAMES[m] for m in row["steps"]], "verify": bool(row["steps"]),
            "database_rollback": "requires_approval"}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"rollback_decision": rollback_decision}
