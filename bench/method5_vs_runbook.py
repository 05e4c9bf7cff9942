#!/usr/bin/env python3
"""Method 5's downtime (traffic stopped -> traffic back) on the lab's PostgreSQL: the runbook's `pg_restore -c`
(serial; run where it can do the whole restore, since into the migrated database it stops early) against ours: the atomic in-place path, the parallel path (fresh database
and swap), and the pre-staged standby (swap only). Every round starts from the bad migration; the order of the
contenders rotates each round (these machines drift). Ours start from the bad migration. Prints medians, ratios to the runbook, and MB/s.

  make lab && source .lab/env && .venv/bin/python bench/method5_vs_runbook.py --rows 4300000 --rounds 3

--rows 4300000 gives a database of about 1 GB (2700000: 640 MB). Our contenders run as Ansible modules (what on-call runs), so
their times include Ansible's start-up; ANALYZE is part of ours and not of the runbook's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ANSIBLE_PLAYBOOK, REPO, run, timed

DB = "bench_m5"


def psql(sql: str, db: str = "postgres") -> str:
    return run(["psql", "-X", "-At", "-d", db, "-c", sql]).strip()


def module(name: str, args: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"easymo.rollback.%s" % name: args, "register": "r"},
            {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out), "mode": "0600"}}]}]
        (Path(tmp) / "p.yml").write_text(json.dumps(play))
        run([ANSIBLE_PLAYBOOK, str(Path(tmp) / "p.yml"), "-i", str(REPO / "inventories" / "lab")])
        return json.loads(out.read_text())


def drop_leftovers() -> None:
    for name in psql("SELECT datname FROM pg_database WHERE datname LIKE '%s\\_%%'" % DB).split():
        psql("DROP DATABASE IF EXISTS %s" % name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4300000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_m5_"))
    print("creating %s with %d orders ..." % (DB, args.rows), flush=True)
    run([sys.executable, str(REPO / "lab" / "db_fixture.py"), "agent-core", DB, "--rows", str(args.rows)])
    size_mb = int(psql("SELECT pg_database_size('%s')" % DB)) / 1e6
    taken = module("db_backup", {"db": DB, "dest_dir": str(work), "name_prefix": DB})
    archive = taken["archive"]
    # As database_rollback.yml does: the archive is read to its end in Step 0, before traffic stops; during the
    # downtime only its sha256 is compared.
    checked = taken["sha256"]
    archive_mb = os.path.getsize(archive) / 1e6
    print("database %.0f MB, archive %.0f MB" % (size_mb, archive_mb), flush=True)

    def migrate() -> None:
        run([sys.executable, str(REPO / "lab" / "db_fixture.py"), "bad-migration", DB])

    def runbook() -> None:
        # The runbook's command, into a database it can clean completely (no migration objects depending on the
        # tables), so that it does the whole restore: into the migrated one it fails early, which is no speed.
        done = subprocess.run(["pg_restore", "-c", "-d", DB, archive], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit("bench: the runbook's pg_restore -c failed: %s" % done.stderr[-2000:])

    def atomic() -> None:
        r = module("db_restore", {"db": DB, "backup": archive, "accept_losing_writes": True, "verified_sha256": checked})
        assert r["outcome"] == "restored", r

    def atomic_with_safety_dump() -> None:
        r = module("db_restore", {"db": DB, "backup": archive, "safety_dump_dir": str(work / "safety"), "verified_sha256": checked})
        assert r["outcome"] == "restored", r

    def parallel() -> None:
        r = module("db_restore", {"db": DB, "backup": archive, "mode": "parallel", "jobs": args.jobs, "keep_previous": False,
                                  "accept_losing_writes": True, "verified_sha256": checked})
        assert r["outcome"] == "restored", r

    standby_prep: list[float] = []

    def standby() -> None:
        r = module("db_restore", {"db": DB, "backup": archive, "mode": "standby", "keep_previous": False, "accept_losing_writes": True,
                                  "verified_sha256": checked})
        assert r["outcome"] == "restored", r

    def prepare_standby() -> None:
        standby_prep.append(timed(lambda: module("db_restore", {"db": DB, "backup": archive, "mode": "parallel", "swap": False,
                                                                 "jobs": args.jobs})))

    contenders = [("runbook", runbook), ("atomic", atomic), ("atomic+safety", atomic_with_safety_dump),
                  ("parallel", parallel), ("standby", standby)]
    times: dict[str, list[float]] = {name: [] for name, _fn in contenders}
    for i in range(args.rounds):
        order = contenders[i % len(contenders):] + contenders[:i % len(contenders)]
        for name, fn in order:
            if name != "runbook":
                migrate()
            if name == "standby":
                prepare_standby()  # before the incident: not downtime
            times[name].append(timed(fn))
            print("round %d  %-14s %7.2f s" % (i + 1, name, times[name][-1]), flush=True)
            drop_leftovers()
    base = statistics.median(times["runbook"])
    print("\nmedian downtime over %d rounds (database %.0f MB, archive %.0f MB, -j %d):" % (args.rounds, size_mb, archive_mb, args.jobs))
    for name, _fn in contenders:
        med = statistics.median(times[name])
        print("  %-14s %7.2f s  %5.2fx faster than the runbook  %6.1f MB/s of database" % (name, med, base / med, size_mb / med))
    print("  standby preparation (before the incident, not downtime): median %.2f s" % statistics.median(standby_prep))
    run([sys.executable, str(REPO / "lab" / "db_fixture.py"), "drop", DB])
    drop_leftovers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
