"""playbooks/drill.yml on the lab: every method broken, rolled back, verified and timed; the report and the record."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, run_playbook

INVENTORY = str(REPO / "inventories" / "lab")


def test_drill_every_method_on_the_lab_within_its_target(lab, tmp_path):
    subprocess.run([sys.executable, str(REPO / "lab" / "db_fixture.py"), "roles"], check=True)  # a fresh lab has no restorer yet
    env = {"EASYMO_DRILL_DIR": str(tmp_path), "EASYMO_BACKUP_DIR": str(tmp_path / "backups"),
           "EASYMO_INCIDENT_DIR": str(tmp_path / "incidents"),
           "EASYMO_SUPABASE_DB_PASSWORD": (REPO / ".lab" / "restorer-password").read_text().strip()}
    proc = run_playbook(REPO / "playbooks" / "drill.yml", "-i", INVENTORY, env=env, timeout=1500)
    flat = " ".join(proc.stdout.split())
    assert proc.returncode == 0, proc.stdout[-6000:]
    [report_json] = list(tmp_path.glob("drill_lab_*.json"))
    [report_md] = list(tmp_path.glob("drill_lab_*.md"))
    report = json.loads(report_json.read_text())
    assert [m["method"] for m in report["methods"]] == [1, 2, 3, 4, 5]
    for m in report["methods"]:
        assert m["rollback_ok"] and m["verified"] and m["within_target"], m
        assert 0 < m["seconds"] < m["target_seconds"]
    assert report["passed"] is True and report["next_due"] > report["tested_on"]
    assert "**Next Test**: %s" % report["next_due"] in report_md.read_text() and "Result: PASS" in flat
    assert os.environ["PGPASSWORD"] not in proc.stdout + report_md.read_text()


def test_drill_refuses_method5_against_production_before_anything(lab, tmp_path):
    before = lab.settle("easymo-prod")
    proc = run_playbook(REPO / "playbooks" / "drill.yml", "-i", INVENTORY, "-e", "easymo_environment=production",
                        "-e", "drill_allow_production=true", env={"EASYMO_DRILL_DIR": str(tmp_path)})
    assert proc.returncode != 0 and "Method 5 (database restore) is drilled on the lab or staging only" in " ".join(proc.stdout.split())
    assert lab.resource_versions("easymo-prod") == before and list(tmp_path.iterdir()) == []
