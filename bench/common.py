"""What both benchmarks share: run a command or fail loudly, alternate rounds, print the median ratio."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def run(argv: list[str]) -> str:
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit("bench: %s failed:\n%s\n%s" % (" ".join(argv[:3]), proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.stdout


def timed(fn: t.Callable[[], t.Any]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def compare(rounds: int, reset: t.Callable[[], None], runbook: t.Callable[[], t.Any], ours: t.Callable[[], t.Any]) -> float:
    """Alternate which goes first (this machine's drift hits both alike); return median(ours)/median(runbook)."""
    times: dict[str, list[float]] = {"runbook": [], "ours": []}
    for i in range(rounds):
        order = [("runbook", runbook), ("ours", ours)]
        for name, fn in order if i % 2 == 0 else reversed(order):
            reset()
            times[name].append(timed(fn))
            print("round %d  %-8s %6.2f s" % (i + 1, name, times[name][-1]), flush=True)
    med_ours, med_runbook = statistics.median(times["ours"]), statistics.median(times["runbook"])
    print("median runbook %.2f s, median ours %.2f s" % (med_runbook, med_ours))
    print("ratio ours/runbook (median): %.2f" % (med_ours / med_runbook))
    return med_ours / med_runbook
