# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's tables, in one place: the decision matrix, the methods' time frames and the escalation path.

The decision filter, the incident report and the drills all read these, so a change to the runbook is one edit.
"""

from __future__ import annotations

import typing as t

# Emergency Rollback Decision Matrix. steps: the methods in order, each after the previous one's verification failed.
MATRIX: dict[str, dict[str, t.Any]] = {
    "P0": {"condition": "System down", "action": "Full rollback", "time_limit_minutes": 5, "steps": [1, 3]},
    "P1": {"condition": "Error rate >10%", "action": "Full rollback", "time_limit_minutes": 10, "steps": [1, 3]},
    "P2": {"condition": "Error rate 5-10%", "action": "Reduce rollout, then fix", "time_limit_minutes": 15, "steps": [2]},
    "P3": {"condition": "Minor issues", "action": "Monitor, then fix", "time_limit_minutes": 30, "steps": []},
    "P4": {"condition": "Cosmetic", "action": "Schedule fix (next sprint)", "time_limit_minutes": None, "steps": []},
}

# Rollback Timeframes: each method's duration target (the upper bound of the runbook's range) and downtime.
METHODS: dict[int, dict[str, t.Any]] = {
    1: {"name": "Feature Flag", "target_seconds": 120, "downtime": "0 min"},
    2: {"name": "Partial Rollout", "target_seconds": 180, "downtime": "0 min"},
    3: {"name": "Service Rollback", "target_seconds": 600, "downtime": "<30 sec/svc"},
    4: {"name": "Edge Function", "target_seconds": 300, "downtime": "<1 min"},
    5: {"name": "Database", "target_seconds": 1800, "downtime": "5-15 min"},
}

# Escalation Path: who must be involved once this many minutes have passed since the issue was detected.
ESCALATION: list[dict[str, t.Any]] = [
    {"level": 1, "role": "On-Call Engineer", "from_minutes": 0},
    {"level": 2, "role": "Engineering Lead", "from_minutes": 5},
    {"level": 3, "role": "Engineering Manager", "from_minutes": 15},
]


def escalation_level(minutes: float) -> dict[str, t.Any]:
    """The escalation level the runbook requires after this many minutes."""
    return [row for row in ESCALATION if minutes >= row["from_minutes"]][-1]
