"""The incident report's decisions on plain records: milestones, targets, the severity limit, escalation, breaches."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.easymo.rollback.plugins.module_utils._incident import (
    method_of,
    parse_time,
    render_markdown,
    report_stem,
    summarize,
)
from ansible_collections.easymo.rollback.plugins.module_utils._runbook import escalation_level


def _step(play, task, start, seconds, outcome="ok", milestone=None):
    begin = parse_time(start)
    end = datetime.fromtimestamp(begin.timestamp() + seconds, timezone.utc)
    return {"play": play, "task": task, "start": start, "end": end.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "seconds": seconds, "outcome": outcome, "milestone": milestone}


RECORD = {
    "playbook": "rollback.yml", "started": "2026-12-04T03:00:00Z", "ended": "2026-12-04T03:04:00Z", "seconds": 240,
    "steps": [
        _step("Decide", "Announce", "2026-12-04T03:00:00Z", 1.5, "ok", "rollback_initiated"),
        _step("Method 1: feature-flag kill switch", "Step 1", "2026-12-04T03:00:02Z", 100.25, "changed"),
        _step("Method 1: feature-flag kill switch", "Step 2", "2026-12-04T03:01:43Z", 30.0, "ok", "rollback_completed"),
        _step("Verify", "All pods", "2026-12-04T03:02:13Z", 20.0, "ok", "services_verified"),
    ],
}


def test_a_fast_p1_has_no_breach_and_the_real_timeline():
    s = summarize(RECORD, {"release": "v2.0", "severity": "p1", "detected_at": "2026-12-04T02:58:00Z"})
    assert s["methods"] == [{"method": 1, "name": "Feature Flag", "seconds": 130.25, "target_seconds": 120,
                             "within_target": False}]
    assert [m["name"] for m in s["milestones"] if m["at"]] == [
        "issue_detected", "rollback_initiated", "rollback_completed", "services_verified"]
    # 02:58 detected, completed at 03:02:13: 4.2 min, within P1's 10, Level 1.
    assert s["duration_minutes"] == 4.22 and s["escalation"]["level"] == 1
    assert s["breaches"] == ["Method 1 (Feature Flag) took 2.2 min, over its 2.0 min target"]
    assert s["outcome"] == "completed"


def test_late_detection_breaches_the_limit_and_escalates():
    s = summarize(RECORD, {"release": "v2.0", "severity": "P0", "detected_at": "2026-12-04T02:50:00+00:00"})
    assert s["duration_minutes"] == 12.22
    assert any("over the P0 limit of 5 min" in b for b in s["breaches"])
    assert s["escalation"]["level"] == 2 and any("Level 2 (Engineering Lead)" in b for b in s["breaches"])


def test_a_failed_method_has_no_completion():
    steps = [dict(RECORD["steps"][0]), _step("Method 3: service rollback", "Roll back", "2026-12-04T03:00:02Z", 5, "failed",
                                             "rollback_completed")]
    s = summarize({**RECORD, "steps": steps}, {"release": "v2.0", "severity": "P1"})
    assert s["outcome"] == "failed" and s["failed_steps"] == [{"play": "Method 3: service rollback", "task": "Roll back"}]
    assert "the rollback did not complete (no 'rollback completed' milestone)" in s["breaches"]
    # Without detected_at the run's start is the detection.
    assert s["detected_at"] == "2026-12-04T03:00:00.000000Z"


def test_a_bad_detection_time_is_noted_not_fatal():
    s = summarize(RECORD, {"severity": "P2", "detected_at": "yesterday-ish"})
    assert s["notes"] and "yesterday-ish" in s["notes"][0] and s["release"] == "unknown"


def test_markdown_follows_the_runbook_template():
    text = render_markdown(summarize(RECORD, {"release": "v2.0", "severity": "P1", "issue": "AI | timeouts"}))
    for heading in ("# Incident Report: v2.0 Rollback", "## Timeline", "## Root Cause", "## Resolution", "## Prevention"):
        assert heading in text
    assert "- 03:00:01 UTC Rollback initiated (T+0.0 min)" in text
    assert "| Method 1 (Feature Flag) | 2.2 min | 2.0 min | **BREACH** |" in text
    assert "| 03:00:02 | 100.250 | changed | Method 1: feature-flag kill switch | Step 1 |" in text


def test_names_and_helpers():
    assert report_stem("v2.0", datetime(2026, 12, 4, tzinfo=timezone.utc)) == "incident_v2.0_rollback_20261204"
    assert report_stem("../../etc/x y", datetime(2026, 12, 4, tzinfo=timezone.utc)) == "incident_etc_x_y_rollback_20261204"
    assert method_of("Method 3: service rollback") == 3 and method_of("Verify") is None
    assert [escalation_level(m)["level"] for m in (0, 4.99, 5, 14.9, 15, 90)] == [1, 1, 2, 2, 3, 3]
    assert parse_time("2026-12-04 03:00:00").tzinfo is not None and parse_time("nope") is None
