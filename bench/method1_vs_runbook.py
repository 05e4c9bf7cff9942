#!/usr/bin/env python3
"""Method 1 on the lab: feature_flag_rollback.yml against the runbook's three kubectl commands.

Each round puts the incident's flags back (AI on, 10 %) and restarts agent-core on them, then times one of:
  runbook  kubectl patch configmap feature-flags ...; kubectl rollout restart deployment/agent-core;
           kubectl rollout status deployment/agent-core   (no verification at all)
  ours     ansible-playbook playbooks/feature_flag_rollback.yml -i inventories/lab
           (flags, restart, wait, pods-on-new-flags check, test message, error-rate watch, announcement)

    python bench/method1_vs_runbook.py [--rounds 3]     (after `make lab`)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from common import ANSIBLE_PLAYBOOK, REPO, compare, run

NS = "easymo-prod"
PATCH = json.dumps({"data": {"FEATURE_AI_AGENTS": "false", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "0"}})


def reset() -> None:
    run([sys.executable, str(REPO / "lab" / "fixture.py"), "flags"])
    run(["kubectl", "rollout", "restart", "deployment/agent-core", "-n", NS])
    run(["kubectl", "rollout", "status", "deployment/agent-core", "-n", NS])


def runbook() -> None:
    run(["kubectl", "patch", "configmap", "feature-flags", "-n", NS, "-p", PATCH])
    run(["kubectl", "rollout", "restart", "deployment/agent-core", "-n", NS])
    run(["kubectl", "rollout", "status", "deployment/agent-core", "-n", NS])


def ours() -> None:
    run([ANSIBLE_PLAYBOOK, "playbooks/feature_flag_rollback.yml", "-i", "inventories/lab"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if "KUBECONFIG" not in os.environ:
        sys.exit("bench: source .lab/env first (make bench does)")
    print("Method 1: pod-ready delay %s ms; agent-core 4 replicas" % os.environ.get("EASYMO_LAB_POD_READY_DELAY_MS", "?"))
    compare(args.rounds, reset, runbook, ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
