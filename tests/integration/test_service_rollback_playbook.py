"""playbooks/service_rollback.yml on the EasyMO fixture: the bad release on all 11 services is rolled back,
verified, and a second run changes nothing."""

from __future__ import annotations

import re
import subprocess
import sys

import requests
from conftest import REPO, run_playbook

sys.path.insert(0, str(REPO / "lab"))
import fixture  # noqa: E402


def recap(stdout: str) -> dict[str, int]:
    m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout)
    assert m, stdout[-2000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


def test_service_rollback_end_to_end(lab):
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "release", "bad"], check=True)
    base = __import__("os").environ["EASYMO_HEALTH_BASE_URL"]
    assert requests.get(base + "/health/agent-core", timeout=5).status_code == 503

    first = run_playbook(REPO / "playbooks" / "service_rollback.yml", "-i", str(REPO / "inventories" / "lab"))
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert recap(first.stdout)["changed"] == 2  # step 1 and step 2
    assert "Traceback" not in first.stdout + first.stderr
    # The plan is shown before anything changes, the summary at the end.
    assert first.stdout.index("would_roll_back") < first.stdout.index("Step 1")
    assert "SERVICE" in first.stdout and "rolled_out" in first.stdout

    for svc in fixture.SERVICES:
        assert lab.image(fixture.NAMESPACE, svc["name"]) == fixture.image(svc, "good"), svc["name"]
        r = requests.get(base + "/health/" + svc["name"], timeout=5)
        assert r.status_code == 200 and r.json() == {"status": "healthy"}, (svc["name"], r.text)

    second = run_playbook(REPO / "playbooks" / "service_rollback.yml", "-i", str(REPO / "inventories" / "lab"))
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second.stdout)["changed"] == 0
    for svc in fixture.SERVICES:
        assert lab.image(fixture.NAMESPACE, svc["name"]) == fixture.image(svc, "good")


def test_verification_fails_when_health_is_not_confirmed(lab):
    """The play fails, naming the services, when verification cannot confirm health (here: nothing answers)."""
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "release", "good"], check=True)
    proc = run_playbook(REPO / "playbooks" / "service_rollback.yml", "-i", str(REPO / "inventories" / "lab"),
                        "-e", '{"easymo_health_base_url": "http://127.0.0.1:9", "easymo_health_timeout": 2}')
    assert proc.returncode != 0
    assert "verification failed" in proc.stdout
    assert "unreachable" in proc.stdout and "agent-core" in proc.stdout
    assert recap(proc.stdout)["changed"] == 0
