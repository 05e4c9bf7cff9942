#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: db_verify
short_description: Check a restored database against its backup's manifest, exactly
version_added: 0.1.0
description:
  - The runbook's "Counts should match pre-migration values", as a check. For every table of the manifest written by
    M(easymo.rollback.db_backup), the exact row count, the number of distinct primary keys, a primary-key-ordered
    checksum and the presence of the primary key are compared.
  - With O(archive), every constraint the archive holds (for the checked schemas) must exist again; a foreign key a
    restore could not re-create would otherwise vanish silently.
  - Foreign keys are checked for orphans (child rows without a parent), and the runbook's orphaned C(agent_sessions)
    query is counted where that table exists.
  - Table sizes are listed for information only; after a restore they are smaller (no bloat) and are never compared.
  - Changes nothing.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - easymo.rollback.postgres
  - easymo.rollback.postgres.client_tools
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Reading changes nothing, so it runs in check mode too.
  diff_mode:
    support: none
options:
  manifest:
    description: The manifest (C(<archive>.manifest.json)) to compare with.
    type: path
    required: true
  archive:
    description: The archive, for the constraint inventory (default the manifest's archive beside it, when present).
    type: path
  schemas:
    description: Schemas to check (default the manifest's).
    type: list
    elements: str
  fail_on_mismatch:
    description: Fail when any check fails.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: "Method 5, Step 3: the restored database is the backup"
  easymo.rollback.db_verify:
    db: agent_core_prod
    manifest: /srv/backups/agent_core_prod_20261203_220000.dump.manifest.json
"""

RETURN = r"""
passed:
  description: Every check passed.
  returned: always
  type: bool
tables:
  description: Per table, expected and found rows, whether it passed and the problems.
  returned: always
  type: list
  elements: dict
missing_constraints:
  description: Constraints in the archive that the database no longer has (table and name).
  returned: always
  type: list
  elements: str
orphans:
  description: Per foreign key, child rows without a parent.
  returned: always
  type: list
  elements: dict
orphaned_agent_sessions:
  description: Pending agent sessions untouched for an hour (the runbook's query), null without that table.
  returned: always
  type: int
sizes:
  description: The largest tables' sizes, for information (never compared).
  returned: always
  type: list
  elements: dict
duration_seconds:
  description: Wall time of the module.
  returned: always
  type: float
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._pg import (
    HAS_PSYCOPG2,
    PG_CONNECTION_ARG_SPEC,
    PSYCOPG2_IMPORT_ERROR,
    connect,
    describe_target,
    read_only_options,
)
from ansible_collections.easymo.rollback.plugins.module_utils._pg_archive import compare_to_manifest, parse_toc
from ansible_collections.easymo.rollback.plugins.module_utils._pg_ops import (
    ClientTools,
    constraints_in,
    foreign_key_orphans,
    measure_all,
    server_facts,
    table_sizes,
)

try:
    import psycopg2
except ImportError:  # reported through HAS_PSYCOPG2
    pass


def archive_constraints(tools: ClientTools, archive: str, schemas: list[str]) -> set[tuple[str, str]] | None:
    listing = tools.run("pg_restore", ["--list", archive])
    if listing.returncode != 0:
        return None
    found = set()
    for e in parse_toc(listing.stdout):
        if e["desc"] in ("CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT") and e["schema"] in schemas:
            table, _sep, name = e["name"].partition(" ")
            found.add(("%s.%s" % (e["schema"], table), name))
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            PG_CONNECTION_ARG_SPEC,
            client_bin_dir=dict(type="path"),
            manifest=dict(type="path", required=True),
            archive=dict(type="path"),
            schemas=dict(type="list", elements="str"),
            fail_on_mismatch=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    p = module.params
    started = time.monotonic()
    try:
        with open(p["manifest"], encoding="utf-8") as fh:
            manifest = json.load(fh)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("tables"), dict):
            raise ValueError("it has no tables")
    except (OSError, ValueError) as exc:
        module.fail_json(msg="Cannot read the manifest %s: %s. Give the .manifest.json written by db_backup." % (p["manifest"], exc))
    schemas = p["schemas"] or manifest.get("schemas") or ["public"]
    archive = p["archive"] or os.path.join(os.path.dirname(p["manifest"]), manifest.get("archive") or "")
    try:
        conn = connect(p, read_only_options(max(p["statement_timeout"], 600)))
    except psycopg2.Error as exc:
        module.fail_json(msg="Cannot connect to %s: %s" % (describe_target(p), str(exc).strip()))
    try:
        with conn.cursor() as cur:
            facts = server_facts(cur)
            measured = measure_all(cur, schemas)
            tables = compare_to_manifest(manifest, measured)
            present = constraints_in(cur, schemas)
            expected = archive_constraints(ClientTools(p, facts["major"]), archive, schemas) if os.path.isfile(archive) else None
            missing = sorted("%s %s" % pair for pair in (expected or set()) - present)
            orphans = foreign_key_orphans(cur, schemas)
            cur.execute("SELECT to_regclass('agent_sessions') IS NOT NULL")
            sessions = None
            if cur.fetchone()[0]:
                cur.execute("SELECT COUNT(*) FROM agent_sessions WHERE status = 'pending' AND updated_at < NOW() - INTERVAL '1 hour'")
                sessions = cur.fetchone()[0]
            sizes = table_sizes(cur, schemas)
    except psycopg2.Error as exc:
        module.fail_json(msg="Verification of %s failed: %s" % (describe_target(p), str(exc).strip()))
    except FileNotFoundError as exc:
        module.fail_json(msg=str(exc))
    finally:
        conn.close()
    failed_tables = [t for t in tables if not t["passed"]]
    with_orphans = [o for o in orphans if o["orphans"]]
    passed = not failed_tables and not missing and not with_orphans
    result = dict(changed=False, passed=passed, tables=tables, missing_constraints=missing, orphans=orphans,
                  orphaned_agent_sessions=sessions, sizes=sizes, constraint_inventory=expected is not None,
                  duration_seconds=round(time.monotonic() - started, 2))
    if not passed and p["fail_on_mismatch"]:
        problems = ["%s: %s" % (t["table"], ", ".join(t["problems"])) for t in failed_tables]
        problems += ["constraint %s missing" % m for m in missing]
        problems += ["%d rows of %s have no parent in %s (%s)" % (o["orphans"], o["child"], o["parent"], o["constraint"]) for o in with_orphans]
        module.fail_json(msg="The database does not match the backup: " + "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
