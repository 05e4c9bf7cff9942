"""The runbook's decision matrix: every row and every boundary (5 %, 10 %), and bad input refused."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.easymo.rollback.plugins.filter.rollback_decision import rollback_decision


@pytest.mark.parametrize("severity,steps,limit", [
    ("P0", [1, 3], 5), ("P1", [1, 3], 10), ("P2", [2], 15), ("P3", [], 30), ("P4", [], None), (" p1 ", [1, 3], 10),
])
def test_every_matrix_row(severity, steps, limit):
    plan = rollback_decision(severity)
    assert plan["steps"] == steps and plan["time_limit_minutes"] == limit
    assert plan["database_rollback"] == "requires_approval" and 5 not in plan["steps"]


@pytest.mark.parametrize("kwargs,severity", [
    ({"system_down": True, "error_rate": 0}, "P0"),
    ({"error_rate": 0.1001}, "P1"),
    ({"error_rate": 0.10}, "P2"),          # "error rate >10 %" is P1; exactly 10 % is the top of P2
    ({"error_rate": "10%"}, "P2"),
    ({"error_rate": 10.5}, "P1"),           # a number above 1 is a percentage
    ({"error_rate": 0.05}, "P2"),           # 5 % is the bottom of P2
    ({"error_rate": "4.99%"}, "P3"),
    ({"error_rate": 0.001}, "P3"),
    ({"business_drop": 0.11}, "P1"),
    ({"business_drop": "10%"}, "P3"),
    ({"complaints_per_hour": 11}, "P2"),
    ({"complaints_per_hour": 10}, "P3"),
    ({}, "P4"),
    ({"error_rate": 0, "complaints_per_hour": 0}, "P4"),
])
def test_signals_and_boundaries(kwargs, severity):
    assert rollback_decision("", **kwargs)["severity"] == severity


def test_severity_wins_over_signals():
    assert rollback_decision("P3", error_rate=0.5)["severity"] == "P3"


@pytest.mark.parametrize("severity,kwargs,needle", [
    ("P5", {}, "not one of P0"), ("high", {}, "not one of P0"), ("", {"error_rate": "lots"}, "error_rate must be a number"),
    ("", {"error_rate": -1}, "0 or more"), ("", {"error_rate": "150%"}, "above 100%"),
    ("", {"complaints_per_hour": "many"}, "complaints_per_hour must be a number"),
    ("", {"system_down": "yes"}, "system_down must be true or false"),
])
def test_bad_input_is_refused(severity, kwargs, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        rollback_decision(severity, **kwargs)
