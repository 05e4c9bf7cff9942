#!/usr/bin/env python3
"""Method 3 on the lab: our playbook against the runbook's own kubectl commands, same bad release.

Each round resets all 11 services to the bad release, then times one of:
  runbook  kubectl rollout undo + kubectl rollout status, service by service (agent-core, then the
           dependents in reverse deploy order), as the runbook does for agent-core applied to every service;
  ours     ansible-playbook playbooks/service_rollback.yml -i inventories/lab (plan, rollback, verification).
Rounds alternate so that drift of this noisy machine hits both alike. Prints each time and the median ratio.

    python bench/method3_vs_runbook.py [--rounds 3]     (after `make lab`; `make bench` does both)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lab"))
import fixture  # noqa: E402


def run(argv: list[str]) -> None:
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit("bench: %s failed:\n%s\n%s" % (" ".join(argv[:3]), proc.stdout[-3000:], proc.stderr[-3000:]))


def reset_to_bad() -> None:
    run([sys.executable, str(REPO / "lab" / "fixture.py"), "release", "bad"])


def runbook() -> float:
    order = ["agent-core"] + [s["name"] for s in reversed(fixture.SERVICES) if s["name"] != "agent-core"]
    started = time.monotonic()
    for svc in order:
        run(["kubectl", "rollout", "undo", "deployment/" + svc, "-n", fixture.NAMESPACE])
        run(["kubectl", "rollout", "status", "deployment/" + svc, "-n", fixture.NAMESPACE])
    return time.monotonic() - started


def ours() -> float:
    started = time.monotonic()
    run([str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/service_rollback.yml", "-i", "inventories/lab"])
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if "KUBECONFIG" not in os.environ:
        sys.exit("bench: source .lab/env first (make bench does)")
    times: dict[str, list[float]] = {"runbook": [], "ours": []}
    for i in range(args.rounds):
        for name, fn in ((("runbook", runbook), ("ours", ours)) if i % 2 == 0 else (("ours", ours), ("runbook", runbook))):
            reset_to_bad()
            seconds = fn()
            times[name].append(seconds)
            print("round %d  %-8s %6.1f s" % (i + 1, name, seconds), flush=True)
    med_ours, med_runbook = statistics.median(times["ours"]), statistics.median(times["runbook"])
    print("pod-ready delay: %s ms; 11 services, %d pods" % (os.environ.get("EASYMO_LAB_POD_READY_DELAY_MS", "?"),
                                                           sum(s["replicas"] for s in fixture.SERVICES)))
    print("median runbook %.1f s, median ours %.1f s" % (med_runbook, med_ours))
    print("ratio ours/runbook (median): %.2f" % (med_ours / med_runbook))
    return 0


if __name__ == "__main__":
    sys.exit(main())
