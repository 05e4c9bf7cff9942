"""The verification checklist (roles/verify), the decision playbook (rollback.yml), communications and the incident
report, on the lab's EasyMO fixture: each checklist item fails when its condition is broken and passes after the
rollback; the decision picks the runbook's method for every row; planted secrets appear nowhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import psycopg2
import pytest
import requests
from conftest import REPO, run_playbook

from ansible_collections.easymo.rollback.plugins.module_utils._incident import method_of

INVENTORY = str(REPO / "inventories" / "lab")
STANDINS = os.environ["EASYMO_LAB_STANDINS_URL"]
NS = "easymo-prod"
# Short waits: a broken item must fail quickly here; the defaults are for production.
FAST = ["-e", "verify_health_timeout=3", "-e", "verify_metric_timeout=3", "-e", "verify_pods_timeout=5"]
WEBHOOK_SECRET = "plantedSlackSecret7c1d"
ROUTING_KEY = "P1anted0PagerDuty0Key00000000abc"
assert len(ROUTING_KEY) == 32
ITEMS = {
    "pods": "Services: pods Running and Ready",
    "health": "Services: health endpoints 200",
    "logs": "Services: ERROR lines in recent logs",
    "message": "User experience: test message",
    "order": "User experience: test order",
    "metrics": "Metrics: error rate, p95 latency, throughput",
    "alerts": "Metrics: no alerts firing",
    "orphans": "Database: orphaned agent sessions",
    "counts": "Database: row counts",
    "soak": "Success criteria: metrics stable for the soak",
}


def fixture(*args: str) -> None:
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), *args], check=True, capture_output=True)


def flat(text: str) -> str:
    """Output with the YAML callback's line wrapping undone (it wraps long strings at spaces)."""
    return " ".join(text.split())


def checklist(stdout: str) -> dict[str, str]:
    """The last checklist the run printed: item key -> PASS, FAIL or skipped."""
    block = flat(stdout).rsplit("verify : Checklist: result]", 1)[-1].split("TIMELINE (easymo", 1)[0]
    found = {}
    for key, item in ITEMS.items():
        m = re.search(r"(PASS|FAIL|skipped) +%s:" % re.escape(item), block)
        assert m, "no line for %r in:\n%s" % (item, block[:3000])
        found[key] = m.group(1)
    return found


def received() -> dict:
    return requests.get(STANDINS + "/_lab/received", timeout=5).json()


def set_flags(lab, ai: bool, pct: int) -> None:
    lab.core.patch_namespaced_config_map("feature-flags", NS, {"data": {
        "FEATURE_AI_AGENTS": "true" if ai else "false", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": str(pct)}})
    lab.restart(NS, "agent-core")
    lab.wait_done(NS, ["agent-core"])


def agent_db():
    return psycopg2.connect(dbname="agent_core")


@pytest.fixture(autouse=True)
def clean_receivers():
    requests.post(STANDINS + "/_lab/received/reset", json={}, timeout=5).raise_for_status()
    requests.post(STANDINS + "/_lab/alerts/reset", json={}, timeout=5).raise_for_status()
    yield
    requests.post(STANDINS + "/_lab/alerts/reset", json={}, timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def incident(lab):
    """The bad release with the AI flags on, agent-core's pods running with them."""
    fixture("release", "bad")
    fixture("flags")
    fixture("db")
    lab.restart(NS, "agent-core")
    lab.wait_done(NS, ["agent-core"])
    yield
    fixture("db")


def test_checklist_fails_on_the_incident_naming_each_broken_item(lab, incident):
    proc = run_playbook(REPO / "playbooks" / "verify.yml", "-i", INVENTORY, *FAST)
    assert proc.returncode != 0
    items = checklist(proc.stdout)
    assert items == {"pods": "PASS", "health": "FAIL", "logs": "FAIL", "message": "FAIL", "order": "FAIL",
                     "metrics": "FAIL", "alerts": "FAIL", "orphans": "PASS", "counts": "PASS", "soak": "skipped"}, items
    assert "Verification failed: Services: health endpoints 200; Services: ERROR lines in recent logs" in flat(proc.stdout)
    assert "16 error lines in the last 50, more than 5" in flat(proc.stdout)  # counted through kubectl-logs' API path
    assert "answered by the ai flow (expected menu)" in flat(proc.stdout)
    assert "failed at catalog" in flat(proc.stdout) and "firing: " in flat(proc.stdout) and "HighErrorRate" in flat(proc.stdout)
    assert "Traceback" not in proc.stdout + proc.stderr


def test_p1_rollback_end_to_end_report_matches_timeline_and_no_secret_leaks(lab, incident, tmp_path):
    reports = tmp_path / "incidents"
    timelines = tmp_path / "timelines"
    pg_password = os.environ["PGPASSWORD"]
    env = {"EASYMO_INCIDENT_DIR": str(reports), "EASYMO_TIMELINE_DIR": str(timelines),
           "EASYMO_SLACK_WEBHOOK_URL": STANDINS + "/slack/T0LAB/B0LAB/" + WEBHOOK_SECRET,
           "EASYMO_PAGERDUTY_URL": STANDINS + "/pagerduty/v2/enqueue", "EASYMO_PAGERDUTY_ROUTING_KEY": ROUTING_KEY}
    proc = run_playbook(REPO / "playbooks" / "rollback.yml", "-i", INVENTORY, "-e", "rollback_severity=P1",
                        "-e", "rollback_pagerduty=true", "-e", '{"rollback_issue": "AI agent timeouts after v2.0"}',
                        env=env)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "Rolled back with Feature Flag (Method 1), then Service Rollback (Method 3)" in flat(proc.stdout)
    # Method 1 alone did not fix it (the bad release still ran), so Method 3 ran; afterwards every item passes.
    assert checklist(proc.stdout) == {**{k: "PASS" for k in ITEMS}, "soak": "skipped"}

    # Slack got the start, Method 1's announcement and the completion; PagerDuty a trigger then a resolve.
    got = received()
    texts = [m["body"]["text"] for m in got["slack"]]
    assert len(texts) == 3 and "ROLLBACK INITIATED" in texts[0] and "ROLLBACK EXECUTED" in texts[1]
    assert "AI features temporarily disabled due to AI agent timeouts after v2.0." in texts[1]
    assert "✅ ROLLBACK COMPLETE" in texts[2] and "Rollback Method: Feature Flag (Method 1), then Service Rollback (Method 3)" in texts[2]
    assert [e["event_action"] for e in got["pagerduty"]] == ["trigger", "resolve"]
    assert got["pagerduty"][0]["dedup_key"] == got["pagerduty"][1]["dedup_key"] == "easymo-rollback-lab-v2.0"

    # The incident report: the runbook's template with the real timeline and each method against its target.
    [md] = list(reports.glob("incident_v2.0_rollback_*.md"))
    [summary_file] = list(reports.glob("incident_v2.0_rollback_*.json"))
    [user_text] = list(reports.glob("user_communication_v2.0_*.txt"))
    [timeline_file] = list(timelines.glob("timeline_rollback_*.json"))
    report, summary, timeline = md.read_text(), json.loads(summary_file.read_text()), json.loads(timeline_file.read_text())
    assert "Subject: Brief Service Disruption - Resolved" in user_text.read_text()
    assert report.startswith("# Incident Report: v2.0 Rollback") and "Severity: P1" in report and "Outcome: completed" in report
    for label in ("Issue detected", "Rollback initiated", "Rollback completed", "Services verified"):
        assert re.search(r"- \d\d:\d\d:\d\d UTC %s \(T\+" % label, report), label
    # Durations in the report are the callback's: each step's seconds and each method's sum.
    rows = re.findall(r"^\| \d\d:\d\d:\d\d \| ([\d.]+) \| (\w+) \| ([^|]+?) \| (.+) \|$", report, re.M)
    assert len(rows) == len(timeline["steps"])
    for (seconds, outcome, play, task), step in zip(rows, timeline["steps"]):
        assert abs(float(seconds) - step["seconds"]) < 0.0006 and outcome == step["outcome"]
        assert play == step["play"].replace("|", "\\|")
    for method in (1, 3):
        total = sum(s["seconds"] for s in timeline["steps"] if method_of(s["play"]) == method)
        [entry] = [m for m in summary["methods"] if m["method"] == method]
        assert abs(entry["seconds"] - total) < 0.001 and entry["within_target"] is True
        assert "| Method %d (%s) | %.2f s |" % (method, entry["name"], total) in report
    assert [m["method"] for m in summary["methods"]] == [1, 3] and summary["breaches"] == []
    assert summary["escalation"]["level"] == 1 and summary["outcome"] == "completed"

    # No secret anywhere: output, reports, timeline, the receivers' own record aside (they are the secret's owner).
    everything = proc.stdout + proc.stderr + "".join(p.read_text() for p in list(reports.iterdir()) + list(timelines.iterdir()))
    for secret in (WEBHOOK_SECRET, ROUTING_KEY, pg_password, os.environ["SUPABASE_ACCESS_TOKEN"]):
        assert secret not in everything


def test_checklist_items_fail_when_broken_on_a_good_release(lab):
    """After the rollback: break one condition at a time and see exactly that item fail."""
    fixture("release", "good")
    set_flags(lab, ai=False, pct=0)
    fixture("db")
    base = run_playbook(REPO / "playbooks" / "verify.yml", "-i", INVENTORY, *FAST)
    assert base.returncode == 0, base.stdout[-4000:]

    # An alert firing (a planted one: nothing else is wrong).
    requests.post(STANDINS + "/_lab/alerts", json={"labels": {"alertname": "DiskAlmostFull", "severity": "warning"}},
                  timeout=5).raise_for_status()
    proc = run_playbook(REPO / "playbooks" / "verify.yml", "-i", INVENTORY, "--tags", "alerts")
    assert proc.returncode != 0 and checklist(proc.stdout)["alerts"] == "FAIL" and "firing: DiskAlmostFull" in flat(proc.stdout)
    requests.post(STANDINS + "/_lab/alerts/reset", json={}, timeout=5).raise_for_status()

    # An orphaned session and a day without orders.
    with agent_db() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO agent_sessions (user_id, status, updated_at) VALUES (1, 'pending', now() - interval '2 hours')")
        cur.execute("DELETE FROM orders WHERE created_at > now() - interval '24 hours'")
    proc = run_playbook(REPO / "playbooks" / "verify.yml", "-i", INVENTORY, "--tags", "database")
    items = checklist(proc.stdout)
    assert proc.returncode != 0 and items["orphans"] == "FAIL" and items["counts"] == "FAIL"
    assert "1 pending sessions untouched for an hour (at most 0)" in flat(proc.stdout) and "0 orders in 24 h" in flat(proc.stdout)
    assert items["pods"] == "skipped"  # not selected by the tag
    fixture("db")

    # AI on for everyone on the good release: error rate 1.4 % > 1 %, so metrics and a soak both fail.
    set_flags(lab, ai=True, pct=100)
    proc = run_playbook(REPO / "playbooks" / "verify.yml", "-i", INVENTORY, "--tags", "metrics,soak", *FAST,
                        "-e", "verify_soak_seconds=2", "-e", "verify_soak_interval=0.5")
    items = checklist(proc.stdout)
    assert proc.returncode != 0 and items["metrics"] == "FAIL" and items["soak"] == "FAIL"
    assert "soak failed after" in flat(proc.stdout) and "error_rate 0.014 is not below 0.01" in flat(proc.stdout)
    set_flags(lab, ai=False, pct=0)
    proc = run_playbook(REPO / "playbooks" / "verify.yml", "-i", INVENTORY, "--tags", "soak",
                        "-e", "verify_soak_seconds=2", "-e", "verify_soak_interval=0.5")
    assert proc.returncode == 0 and checklist(proc.stdout)["soak"] == "PASS", proc.stdout[-3000:]

    # A pod that never becomes ready.
    lab.apps.patch_namespaced_deployment("ranking-service", NS, {"spec": {"template": {"metadata": {
        "annotations": {"lab.easymo.com/never-ready": "true"}}}}})
    proc = run_playbook(REPO / "playbooks" / "verify.yml", "-i", INVENTORY, "--tags", "pods", *FAST)
    assert proc.returncode != 0 and checklist(proc.stdout)["pods"] == "FAIL" and "ranking-service" in flat(proc.stdout)
    fixture("release", "good")  # the fixture puts the template back


@pytest.mark.parametrize("extra,severity,methods", [
    (["-e", "rollback_system_down=true"], "P0", {1, 3}),
    (["-e", "rollback_severity=P1"], "P1", {1, 3}),
    (["-e", "rollback_error_rate=7%"], "P2", {2}),
    (["-e", "rollback_complaints_per_hour=3"], "P3", set()),
    ([], "P4", set()),
])
def test_decision_picks_the_runbooks_method_for_each_row(lab, tmp_path, extra, severity, methods):
    """In check mode: the plan runs as far as a dry run goes, and nothing is changed or sent."""
    before = lab.settle(NS)  # controllers finish what an earlier test started
    env = {"EASYMO_TIMELINE_DIR": str(tmp_path), "EASYMO_INCIDENT_DIR": str(tmp_path / "incidents"),
           "EASYMO_SLACK_WEBHOOK_URL": STANDINS + "/slack/T0LAB/B0LAB/" + WEBHOOK_SECRET}
    proc = run_playbook(REPO / "playbooks" / "rollback.yml", "-i", INVENTORY, "--check", *extra, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Severity %s:" % severity in proc.stdout
    [timeline_file] = list(tmp_path.glob("timeline_rollback_*.json"))
    steps = json.loads(timeline_file.read_text())["steps"]
    ran = {method_of(s["play"]) for s in steps if s["outcome"] != "skipped"} - {None}
    assert ran == methods
    assert received()["slack"] == [] and lab.resource_versions(NS) == before


@pytest.mark.parametrize("extra,message", [
    (["-e", "rollback_severity=P9"], "severity 'P9' is not one of P0, P1, P2, P3, P4"),
    (["-e", "rollback_error_rate=lots"], "error_rate must be a number"),
    (["-e", "rollback_detected_at=yesterday"], "is not a UTC time like 2026-12-04T03:02:00Z"),
])
def test_bad_input_is_refused_before_anything_changes(lab, extra, message):
    before = lab.settle(NS)  # controllers finish what an earlier test started
    proc = run_playbook(REPO / "playbooks" / "rollback.yml", "-i", INVENTORY, *extra,
                        env={"EASYMO_SLACK_WEBHOOK_URL": STANDINS + "/slack/T0LAB/B0LAB/" + WEBHOOK_SECRET})
    assert proc.returncode != 0 and message in proc.stdout, proc.stdout[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert received()["slack"] == [] and lab.resource_versions(NS) == before


def test_p2_reduces_the_rollout_and_a_dead_webhook_never_fails_the_rollback(lab, incident, tmp_path):
    """P2 on the bad release: Method 2 lowers the AI share but the bad release stays unhealthy, so the run says
    what to do next; the revoked Slack webhook is reported at the end, it does not stop anything."""
    fixture("release", "bad")
    fixture("flags")
    proc = run_playbook(REPO / "playbooks" / "rollback.yml", "-i", INVENTORY, "-e", "rollback_error_rate=0.07", *FAST,
                        env={"EASYMO_SLACK_WEBHOOK_URL": STANDINS + "/slack/T0LAB/B0LAB/gone",
                             "EASYMO_INCIDENT_DIR": str(tmp_path)})
    assert proc.returncode != 0
    assert "Not fixed after Partial Rollout (Method 2)" in flat(proc.stdout) and "Next: a full rollback" in flat(proc.stdout)
    assert "slack: " in flat(proc.stdout).split("Notifications that did not arrive", 1)[1][:600]
    assert lab.core.read_namespaced_config_map("feature-flags", NS).data["FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE"] == "1"
    [md] = list(tmp_path.glob("incident_v2.0_rollback_*.md"))
    report = md.read_text()
    assert "Outcome: failed" in report and "Severity: P2" in report and "- not reached: Services verified" in report
