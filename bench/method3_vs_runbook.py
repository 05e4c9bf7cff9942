#!/usr/bin/env python3
"""Method 3 on the lab: our playbook against the runbook's own kubectl commands, same bad release.

Each round resets all 11 services to the bad release, then times one of:
  runbook  kubectl rollout undo + kubectl rollout status, service by service (agent-core, then the
           dependents in reverse deploy order), as the runbook does for agent-core applied to every service;
  ours     ansible-playbook playbooks/service_rollback.yml -i inventories/lab (plan, rollback, verification).

    python bench/method3_vs_runbook.py [--rounds 3]     (after `make lab`; `make bench` does both)
"""

from __future__ import annotations

import argparse
import os
import sys

from common import ANSIBLE_PLAYBOOK, REPO, compare, run

sys.path.insert(0, str(REPO / "lab"))
import fixture  # noqa: E402


def reset_to_bad() -> None:
    run([sys.executable, str(REPO / "lab" / "fixture.py"), "release", "bad"])


def runbook() -> None:
    order = ["agent-core"] + [s["name"] for s in reversed(fixture.SERVICES) if s["name"] != "agent-core"]
    for svc in order:
        run(["kubectl", "rollout", "undo", "deployment/" + svc, "-n", fixture.NAMESPACE])
        run(["kubectl", "rollout", "status", "deployment/" + svc, "-n", fixture.NAMESPACE])


def ours() -> None:
    run([ANSIBLE_PLAYBOOK, "playbooks/service_rollback.yml", "-i", "inventories/lab"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if "KUBECONFIG" not in os.environ:
        sys.exit("bench: source .lab/env first (make bench does)")
    print("Method 3: pod-ready delay %s ms; 11 services, %d pods" % (os.environ.get("EASYMO_LAB_POD_READY_DELAY_MS", "?"),
                                                                    sum(s["replicas"] for s in fixture.SERVICES)))
    compare(args.rounds, reset_to_bad, runbook, ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
