#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: db_backup
short_description: The pre-deployment backup Method 5 assumes exists, with a sha256 and a manifest of exact counts
version_added: 0.1.0
description:
  - Takes a custom-format archive (C(pg_dump -Fc)) named like the runbook's C(supabase_prod_<TIMESTAMP>.dump), writes
    its sha256 beside it (C(<archive>.sha256), C(sha256sum) format) and a manifest (C(<archive>.manifest.json)) with
    exact row counts, distinct primary keys and a primary-key-ordered checksum of every table in O(schemas).
  - The manifest and the archive come from the same snapshot (C(pg_export_snapshot) and C(pg_dump --snapshot)), so
    "counts should match pre-migration values" is a check after a restore, not a hope.
  - The archive is written under a temporary name and renamed only when pg_dump succeeded, so a failed backup never
    looks like a good one.
  - Each run takes a new backup (that is its job); nothing existing is touched.
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
    details: Connects, lists the tables the manifest would hold and the archive's name; writes nothing.
  diff_mode:
    support: none
options:
  dest_dir:
    description: Folder for the archive, its sha256 and its manifest (created if missing).
    type: path
    required: true
  name_prefix:
    description: Archive name prefix (default the database name); the name is C(<prefix>_<YYYYMMDD_HHMMSS>.dump) in UTC.
    type: str
  schemas:
    description: Schemas whose tables go into the manifest (default every application schema, platform schemas left out).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Backup before the deployment
  easymo.rollback.db_backup:
    login_host: prod-agent-db.easymo.com
    login_user: easymo_admin
    db: agent_core_prod
    dest_dir: /srv/backups
    name_prefix: agent_core_prod
"""

RETURN = r"""
archive:
  description: Path of the archive.
  returned: success
  type: str
sha256:
  description: sha256 of the archive.
  returned: success
  type: str
manifest:
  description: Path of the manifest.
  returned: success
  type: str
size_bytes:
  description: Size of the archive.
  returned: success
  type: int
tables:
  description: Each table of the manifest with its exact row count.
  returned: always
  type: dict
created_at:
  description: When the snapshot was taken (UTC).
  returned: always
  type: str
duration_seconds:
  description: Wall time of the module.
  returned: always
  type: float
"""

import json
import os
import time
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._pg import (
    HAS_PSYCOPG2,
    PG_CONNECTION_ARG_SPEC,
    PSYCOPG2_IMPORT_ERROR,
    connect,
    describe_target,
)
from ansible_collections.easymo.rollback.plugins.module_utils._pg_archive import backup_file_name, classify_errors
from ansible_collections.easymo.rollback.plugins.module_utils._pg_ops import (
    ClientTools,
    application_schemas,
    measure_all,
    server_facts,
    sha256_of,
    tables_in,
)

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # reported through HAS_PSYCOPG2
    pass


def main():
    module = AnsibleModule(
        argument_spec=dict(
            PG_CONNECTION_ARG_SPEC,
            client_bin_dir=dict(type="path"),
            dest_dir=dict(type="path", required=True),
            name_prefix=dict(type="str"),
            schemas=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    p = module.params
    started = time.monotonic()
    now = datetime.now(timezone.utc)
    try:
        conn = connect(p)
    except psycopg2.Error as exc:
        module.fail_json(msg="Cannot connect to %s: %s" % (describe_target(p), str(exc).strip()))
    conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
    partial = None
    try:
        with conn.cursor() as cur:
            facts = server_facts(cur)
            schemas = p["schemas"] or application_schemas(cur)
            name = backup_file_name(p["name_prefix"] or facts["database"], now)
            archive = os.path.join(p["dest_dir"], name)
            if module.check_mode:
                tables = {"%s.%s" % (s, r): {"pk": pk} for s, r, pk in tables_in(cur, schemas)}
                module.exit_json(changed=True, archive=archive, tables=tables, created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                 duration_seconds=round(time.monotonic() - started, 2))
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            tools = ClientTools(p, facts["major"])
            os.makedirs(p["dest_dir"], exist_ok=True)
            partial = archive + ".partial"
            dumped = tools.run("pg_dump", ["-Fc", "--snapshot", snapshot, "-f", partial], database=facts["database"])
            if dumped.returncode != 0:
                errors = classify_errors(dumped.stderr)
                why = "; ".join(e["message"] for e in errors) or dumped.stderr.strip()[-500:]
                module.fail_json(msg="pg_dump of %s failed: %s" % (facts["database"], why), errors=errors)
            tables = measure_all(cur, schemas)
        conn.commit()
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.rename(partial, archive)
        partial = None
    except psycopg2.Error as exc:
        module.fail_json(msg="Backup of %s failed: %s" % (describe_target(p), str(exc).strip()))
    except OSError as exc:
        module.fail_json(msg="Backup of %s failed: %s" % (describe_target(p), exc))
    finally:
        conn.close()
        if partial and os.path.exists(partial):
            os.unlink(partial)  # never leave something that looks like a backup
    digest = sha256_of(archive)
    with open(archive + ".sha256", "w", encoding="utf-8") as fh:
        fh.write("%s  %s\n" % (digest, name))
    manifest = {"database": facts["database"], "archive": name, "sha256": digest, "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "server_major": facts["major"], "schemas": schemas, "tables": tables}
    with open(archive + ".manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
    module.exit_json(changed=True, archive=archive, sha256=digest, manifest=archive + ".manifest.json",
                     size_bytes=os.path.getsize(archive), tables={k: {"rows": v["rows"]} for k, v in tables.items()},
                     created_at=manifest["created_at"], duration_seconds=round(time.monotonic() - started, 2))


if __name__ == "__main__":
    main()
