#!/usr/bin/env python3
"""Method 1 on the lab: feature_flag_rollback.yml against the runbook's three kubectl commands.

Each round puts the incident's flags back (AI on, 10 %) and restarts agent-core on them, then times one of:
  runbook  kubectl patch configmap feature-flags ...; kubectl rollout restart deployment/agent-core;
           kubectl rollout status deployment/agent-core   (no verification at all)
  ours     ansible-playbook playbooks/feature_flag_rollback.yml -i inventories/lab
           (flags, restart, wait, pods-on-new-flags check, test message, error-rate watch, announcement)
Rounds alternate. Prints each time and the median ratio.

    python bench/method1_vs_runbook.py [--rounds 3]     (after `make lab`)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NS = "easymo-prod"
PATCH = json.dumps({"data": {"FEATURE_AI_AGENTS": "false", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "0"}})


def run(argv: list[str]) -> str:
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit("bench: %s failed:\n%s\n%s" % (" ".join(argv[:3]), proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.stdout


def reset() -> None:
    run([sys.executable, str(REPO / "lab" / "fixture.py"), "flags"])
    run(["kubectl", "rollout", "restart", "deployment/agent-core", "-n", NS])
    run(["kubectl", "rollout", "status", "deployment/agent-core", "-n", NS])


def runbook() -> float:
    started = time.monotonic()
    run(["kubectl", "patch", "configmap", "feature-flags", "-n", NS, "-p", PATCH])
    run(["kubectl", "rollout", "restart", "deployment/agent-core", "-n", NS])
    run(["kubectl", "rollout", "status", "deployment/agent-core", "-n", NS])
    return time.monotonic() - started


def ours() -> float:
    started = time.monotonic()
    run([str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/feature_flag_rollback.yml", "-i", "inventories/lab"])
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if "KUBECONFIG" not in os.environ:
        sys.exit("bench: source .lab/env first")
    times: dict[str, list[float]] = {"runbook": [], "ours": []}
    for i in range(args.rounds):
        order = (("runbook", runbook), ("ours", ours)) if i % 2 == 0 else (("ours", ours), ("runbook", runbook))
        for name, fn in order:
            reset()
            seconds = fn()
            times[name].append(seconds)
            print("round %d  %-8s %6.2f s" % (i + 1, name, seconds), flush=True)
    med_ours, med_runbook = statistics.median(times["ours"]), statistics.median(times["runbook"])
    print("pod-ready delay: %s ms; agent-core 4 replicas" % os.environ.get("EASYMO_LAB_POD_READY_DELAY_MS", "?"))
    print("median runbook %.2f s, median ours %.2f s" % (med_runbook, med_ours))
    print("ratio ours/runbook (median): %.2f" % (med_ours / med_runbook))
    return 0


if __name__ == "__main__":
    sys.exit(main())
