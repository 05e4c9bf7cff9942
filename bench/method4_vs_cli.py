#!/usr/bin/env python3
"""Method 4 on the lab: edge_function_rollback.yml against the real Supabase CLI, on the same stand-in.

Each round puts the bad release back (the CLI deploys the bad commit, untimed), then times one of:
  cli   supabase functions deploy wa-webhook --project-ref <ref> --use-api, in a checkout of the good commit
        (the runbook's Steps 2-3 once `git checkout <good> -- supabase/functions/wa-webhook/` is done; no verification)
  ours  ansible-playbook playbooks/edge_function_rollback.yml -e edge_function_rollback_good_ref=<good>
        (history and remote state, file set checked, deploy, read back, _health polled until the good version)

    python bench/method4_vs_cli.py [--rounds 3] [--deploy-latency-ms 0]     (after `make lab`)

--deploy-latency-ms makes the stand-in take that long to answer a deploy, as the real service does while it
bundles server-side; both sides pay it once.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import requests

from common import ANSIBLE_PLAYBOOK, REPO, compare, run

sys.path.insert(0, str(REPO / "lab"))
import edge_fixture  # noqa: E402  (the lab's fixture and its real-CLI runner)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--deploy-latency-ms", type=int, default=0)
    args = parser.parse_args()
    if "SUPABASE_API_URL" not in os.environ:
        sys.exit("bench: source .lab/env first (make bench does)")
    api = os.environ["SUPABASE_API_URL"]
    with tempfile.TemporaryDirectory() as tmp:
        fx = edge_fixture.create(Path(tmp) / "project")
        good_tree, bad_tree = Path(tmp) / "good", Path(tmp) / "bad"
        edge_fixture.export(Path(fx["repo"]), fx["good"], good_tree)
        edge_fixture.export(Path(fx["repo"]), fx["bad"], bad_tree)
        requests.post(api + "/_lab/reset", timeout=10).raise_for_status()
        requests.post(api + "/_lab/faults", json={"deploy_latency_ms": args.deploy_latency_ms}, timeout=10).raise_for_status()

        def cli(project: Path) -> None:
            out = edge_fixture.cli_deploy(project, edge_fixture.SLUG)
            if out.returncode != 0:
                sys.exit("bench: supabase functions deploy failed:\n%s%s" % (out.stdout, out.stderr))

        def ours() -> None:
            os.environ["EASYMO_EDGE_REPO"] = fx["repo"]
            run([ANSIBLE_PLAYBOOK, "playbooks/edge_function_rollback.yml", "-i", "inventories/lab",
                 "-e", "edge_function_rollback_good_ref=%s" % fx["good"]])

        print("Method 4: stand-in deploy latency %d ms" % args.deploy_latency_ms)
        compare(args.rounds, lambda: cli(bad_tree), lambda: cli(good_tree), ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
