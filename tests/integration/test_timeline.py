"""The timeline callback: every step's time against the budget, as a table and as JSON, without any secret."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from conftest import REPO, run_playbook

PLANTED = "planted-timeline-secret-93b1"


def test_timeline_records_each_step_and_the_budget(tmp_path):
    play = [{"name": "timed play", "hosts": "localhost", "gather_facts": False, "vars": {"secret_value": PLANTED},
             "tasks": [{"name": "wait a second", "ansible.builtin.wait_for": {"timeout": 1}},
                       {"name": "uses a secret", "ansible.builtin.debug": {"msg": "{{ secret_value }}"}, "no_log": True},
                       {"name": "skipped step", "ansible.builtin.debug": {"msg": "x"}, "when": False}]}]
    pb = tmp_path / "timed.yml"
    pb.write_text(json.dumps(play))
    out_dir = tmp_path / "timelines"
    proc = run_playbook(pb, "-i", str(REPO / "inventories" / "lab"),
                        env={"EASYMO_TIMELINE_DIR": str(out_dir), "EASYMO_TIMELINE_BUDGET_MINUTES": "0.001"})
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "TIMELINE" in proc.stdout and "OVER BUDGET" in proc.stdout  # 0.06 s of budget
    [written] = list(out_dir.glob("timeline_timed_*.json"))
    record = json.loads(written.read_text())
    steps = {s["task"]: s for s in record["steps"]}
    assert steps["wait a second"]["seconds"] >= 1.0 and steps["wait a second"]["outcome"] == "ok"
    assert steps["skipped step"]["outcome"] == "skipped"
    assert record["within_budget"] is False and record["failed"] is False and record["playbook"] == "timed.yml"
    assert sum(s["seconds"] for s in record["steps"]) <= record["seconds"] + 0.01
    start = datetime.fromisoformat(record["started"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(record["ended"].replace("Z", "+00:00"))
    assert abs((end - start).total_seconds() - record["seconds"]) < 0.01
    assert PLANTED not in written.read_text() and PLANTED not in proc.stdout + proc.stderr


def test_a_failed_step_is_marked_failed(tmp_path):
    play = [{"name": "failing play", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "this fails", "ansible.builtin.fail": {"msg": "boom"}}]}]
    pb = tmp_path / "failing.yml"
    pb.write_text(json.dumps(play))
    proc = run_playbook(pb, "-i", str(REPO / "inventories" / "lab"), env={"EASYMO_TIMELINE_DIR": str(tmp_path)})
    assert proc.returncode != 0
    record = json.loads(next(Path(tmp_path).glob("timeline_failing_*.json")).read_text())
    assert record["failed"] is True and record["steps"][0]["outcome"] == "failed"


def test_no_file_is_written_without_an_output_dir(tmp_path):
    play = [{"name": "quiet play", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "nothing", "ansible.builtin.debug": {"msg": "x"}}]}]
    pb = tmp_path / "quiet.yml"
    pb.write_text(json.dumps(play))
    before = set(REPO.glob("timeline_*.json"))
    proc = run_playbook(pb, "-i", str(REPO / "inventories" / "lab"), env={"EASYMO_TIMELINE_DIR": ""})
    assert proc.returncode == 0 and "TIMELINE" in proc.stdout and "timeline written" not in proc.stdout
    assert set(REPO.glob("timeline_*.json")) == before  # the default ("" = none) is not the working directory
