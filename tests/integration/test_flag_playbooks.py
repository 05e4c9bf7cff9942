"""playbooks/feature_flag_rollback.yml (Method 1) and partial_rollback.yml (Method 2) on the EasyMO fixture."""

from __future__ import annotations

import os
import subprocess
import sys

import requests
from conftest import REPO, run_playbook
from test_service_rollback_playbook import recap

INVENTORY = str(REPO / "inventories" / "lab")
STANDINS = os.environ["EASYMO_LAB_STANDINS_URL"]


def reset_flags():
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "flags"], check=True)
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "db"], check=True)


def flags(lab):
    return dict(lab.core.read_namespaced_config_map("feature-flags", "easymo-prod").data)


def test_method1_kill_switch_end_to_end(lab):
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "release", "bad"], check=True)  # the incident
    reset_flags()
    # Restart agent-core on the incident's flags first, so its pods really run with AI on.
    lab.restart("easymo-prod", "agent-core")
    lab.wait_done("easymo-prod", ["agent-core"])
    assert requests.get(STANDINS + "/metrics/errors", timeout=5).json()["error_rate"] > 0.01
    # The playbook's test user is served by the AI flow now, so its "menu" check afterwards can fail.
    assert requests.post(STANDINS + "/simulate/whatsapp", json={"user_id": "rollback-check-user-133"}, timeout=5).json()["flow"] == "ai"

    first = run_playbook(REPO / "playbooks" / "feature_flag_rollback.yml", "-i", INVENTORY)
    assert first.returncode == 0, first.stdout[-4000:]
    assert recap(first.stdout)["changed"] == 1
    assert flags(lab) == {"FEATURE_AI_AGENTS": "false", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "0"}
    running = requests.get(STANDINS + "/_lab/pod-flags", timeout=5).json()
    assert running and all(f["FEATURE_AI_AGENTS"] == "false" for f in running.values()), running
    for user in ("u-1", "u-2", "u-3", "u-42"):
        assert requests.post(STANDINS + "/simulate/whatsapp", json={"user_id": user}, timeout=5).json()["flow"] == "menu"
    assert requests.get(STANDINS + "/metrics/errors", timeout=5).json()["error_rate"] < 0.01
    assert "Restarted: agent-core" in first.stdout and "ROLLBACK EXECUTED" in first.stdout

    second = run_playbook(REPO / "playbooks" / "feature_flag_rollback.yml", "-i", INVENTORY)
    assert second.returncode == 0 and recap(second.stdout)["changed"] == 0, second.stdout[-3000:]


def test_method1_check_mode_changes_nothing(lab):
    reset_flags()
    before_cm = lab.core.read_namespaced_config_map("feature-flags", "easymo-prod").metadata.resource_version
    before = lab.settle("easymo-prod")
    proc = run_playbook(REPO / "playbooks" / "feature_flag_rollback.yml", "-i", INVENTORY, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert '-FEATURE_AI_AGENTS: "true"' in proc.stdout or "FEATURE_AI_AGENTS" in proc.stdout
    assert lab.core.read_namespaced_config_map("feature-flags", "easymo-prod").metadata.resource_version == before_cm
    assert lab.settle("easymo-prod") == before


def test_method2_reduce_rollout_end_to_end(lab):
    reset_flags()
    extra = '{"partial_rollback_percentage": 1, "partial_rollback_denylist": "u-1001, u-1002"}'
    first = run_playbook(REPO / "playbooks" / "partial_rollback.yml", "-i", INVENTORY, "-e", extra)
    assert first.returncode == 0, first.stdout[-4000:]
    assert recap(first.stdout)["changed"] == 1
    data = flags(lab)
    assert data["FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE"] == "1" and data["FEATURE_AI_AGENTS_DENYLIST"] == "u-1001,u-1002"
    assert data["FEATURE_AI_AGENTS"] == "true"
    # The runbook's query, as a table, worst user first.
    table = first.stdout[first.stdout.index("user_id | error_count"):]
    assert table.index("u-1001") < table.index("u-1002") < table.index("u-1003")
    assert requests.post(STANDINS + "/simulate/whatsapp", json={"user_id": "u-1001"}, timeout=5).json()["flow"] == "menu"

    second = run_playbook(REPO / "playbooks" / "partial_rollback.yml", "-i", INVENTORY, "-e", extra)
    assert second.returncode == 0 and recap(second.stdout)["changed"] == 0, second.stdout[-3000:]


def test_method2_bad_percentage_changes_nothing(lab):
    reset_flags()
    before = lab.core.read_namespaced_config_map("feature-flags", "easymo-prod").metadata.resource_version
    for value in ('"15%"', "150", "-1", '"abc"'):
        proc = run_playbook(REPO / "playbooks" / "partial_rollback.yml", "-i", INVENTORY, "-e", '{"partial_rollback_percentage": %s}' % value)
        assert proc.returncode != 0
        assert "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE" in proc.stdout and "Nothing was changed" in proc.stdout
        assert "Traceback" not in proc.stdout + proc.stderr
    # null (or empty) would delete the key; it is refused before anything changes (helper finding)
    for value in ("null", '""'):
        proc = run_playbook(REPO / "playbooks" / "partial_rollback.yml", "-i", INVENTORY, "-e", '{"partial_rollback_percentage": %s}' % value)
        assert proc.returncode != 0 and "partial_rollback_percentage is empty" in proc.stdout and "Nothing was changed" in proc.stdout
    assert lab.core.read_namespaced_config_map("feature-flags", "easymo-prod").metadata.resource_version == before
