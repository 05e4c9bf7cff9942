"""The drill's report and record on plain results: targets from the runbook, pass/fail, next due in 90 days."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.easymo.rollback.plugins.filter.drill_report import drill_report


def test_targets_verdicts_and_the_record():
    report = drill_report([{"method": 1, "seconds": 9.5, "rc": 0, "verify_rc": 0},
                           {"method": 3, "seconds": 601, "rc": 0, "verify_rc": 0},
                           {"method": 4, "seconds": 12, "rc": 0, "verify_rc": 2}], tested_at="2026-12-04T03:00:00Z", environment="lab")
    by = {m["method"]: m for m in report["methods"]}
    assert by[1]["passed"] and by[1]["target_seconds"] == 120
    assert not by[3]["passed"] and not by[3]["within_target"]          # over the 10-minute target
    assert not by[4]["passed"] and by[4]["rollback_ok"] and not by[4]["verified"]
    assert report["passed"] is False and report["tested_on"] == "2026-12-04" and report["next_due"] == "2027-03-04"
    md = report["markdown"]
    assert "- [x] Feature flag disable (Method 1)" in md and "- [ ] Service rollback (Method 3)" in md
    assert "| 3 Service Rollback | ok | yes | 601.0 s | 600 s | **OVER TARGET** |" in md
    assert "Time to execute a P0/P1 rollback (Methods 1 and 3): 610.5 s, target < 600 s: **OVER TARGET**" in md
    assert "**Next Test**: 2027-03-04" in md


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError, match="method 7 is not one of 1-5"):
        drill_report([{"method": 7, "seconds": 1, "rc": 0, "verify_rc": 0}], tested_at="2026-12-04T03:00:00Z")
    with pytest.raises(AnsibleFilterError, match="tested_at must be a UTC time"):
        drill_report([], tested_at="yesterday")
    assert drill_report([], tested_at="2026-12-04T03:00:00Z")["passed"] is False  # nothing drilled is not a pass
