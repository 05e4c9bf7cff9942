#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: db_restore
short_description: Restore a database from its pre-deployment backup without duplicating or losing rows silently
version_added: 0.1.0
description:
  - Method 5, Step 2, without the runbook's C(pg_restore -c) into a migrated database (which appends the backup's
    rows to tables the migration kept and leaves them without a primary key).
  - "Choosing: O(backup), or the newest archive in O(backup_dir) created before O(deployed_at), by the archive's own
    header (not the file time)."
  - "Before anything changes: the format is detected from the content (a custom archive named C(.dump) is fine; a
    plain SQL file is refused), the sha256 beside the archive is compared, the whole archive is read
    (C(pg_restore -f /dev/null); C(--list) alone passes a truncated file), the client tools must fit the archive and
    the server, and sessions still connected are reported (or terminated with O(terminate_sessions))."
  - "O(mode=atomic) (in place; the only way on Supabase): one transaction drops what the restoring role owns in the
    application schemas (the bad migration's objects too) and restores the archive's entries there, filtered
    (extensions, event triggers, publications, platform schemas skipped and reported; grants kept); any error
    rolls everything back and the database is exactly as before."
  - "O(mode=parallel): C(pg_restore -j) into a fresh database, checked against the manifest, then swapped in by
    renaming (not possible on Supabase, where every platform service uses the database C(postgres)). With
    O(swap=false) it prepares a standby C(<db>_rollback_<timestamp>) right after a backup; O(mode=standby) later
    swaps that standby in (seconds of downtime), but only if it was made from the backup chosen now."
  - A safety dump of the current state is taken first (or the previous database is kept, for a swap); without one
    the module refuses, unless O(accept_losing_writes).
  - A target that already matches the backup's manifest exactly is left alone (no change).
  - C(ANALYZE) runs afterwards.
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
    details: Chooses and validates the archive, connects, and returns the plan (what is dropped, restored and skipped).
  diff_mode:
    support: none
options:
  backup:
    description: The archive to restore. Use this or O(backup_dir).
    type: path
  backup_dir:
    description: Folder of archives; the newest created before O(deployed_at) is chosen.
    type: path
  deployed_at:
    description: When the bad deployment started (UTC, like V(2026-12-04T02:55:00Z)); with O(backup_dir).
    type: str
  verified_sha256:
    description:
      - The sha256 an earlier check of the same archive found (the playbook's Step 0, before traffic was stopped).
        When the file still has it, the full read is not repeated during the downtime.
    type: str
  mode:
    description: V(atomic) (in place, one transaction), V(parallel) (fresh database and swap) or V(standby) (swap a prepared standby).
    type: str
    choices: [atomic, parallel, standby]
    default: atomic
  schemas:
    description: Application schemas to restore (default every schema of the archive that is not a platform schema).
    type: list
    elements: str
  restore_platform_schemas:
    description: Also restore platform schemas (auth, storage, ...); off by default, as Supabase's restoring role cannot.
    type: bool
    default: false
  jobs:
    description: Parallel jobs for O(mode=parallel) (each is a connection).
    type: int
    default: 2
  swap:
    description: With O(mode=parallel), swap the fresh database in; false leaves it as a standby.
    type: bool
    default: true
  keep_previous:
    description: After a swap, keep the previous database as C(<db>_before_rollback_<timestamp>) (it also counts as the safety copy).
    type: bool
    default: true
  safety_dump_dir:
    description: Folder for the safety dump of the current state, taken before anything is dropped.
    type: path
  accept_losing_writes:
    description: Go on without a safety dump; writes made after the backup are then gone for good.
    type: bool
    default: false
  terminate_sessions:
    description: Terminate sessions still connected to the target (else their presence is an error).
    type: bool
    default: false
  lock_timeout:
    description: Seconds the restore may wait for a lock before it gives up (and rolls back).
    type: int
    default: 30
  analyze:
    description: Run ANALYZE afterwards (for a standby, when it is prepared).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: "Method 5, Step 2: restore agent-core's database from the last backup before the deployment"
  easymo.rollback.db_restore:
    login_host: prod-agent-db.easymo.com
    login_user: easymo_admin
    db: agent_core_prod
    backup_dir: /srv/backups
    deployed_at: "2026-12-04T02:55:00Z"
    safety_dump_dir: /srv/backups/safety
"""

RETURN = r"""
summary:
  description: One line for people and reports, what was restored from which archive and where the safety dump is.
  returned: always
  type: str
archive:
  description: The archive chosen, with its header (created_at, versions), sha256 and how it was checked.
  returned: always
  type: dict
plan:
  description: Mode, schemas replaced, objects dropped, entries restored and skipped (with reasons), ownership.
  returned: always
  type: dict
safety_dump:
  description: Path of the safety dump (null when none was taken).
  returned: always
  type: str
previous_database:
  description: The previous database's name after a swap (when kept).
  returned: when swapped
  type: str
sessions:
  description: Sessions that were connected to the target (and whether they were terminated).
  returned: always
  type: dict
errors:
  description: Each error the client tools reported, classified (ownership, permission, missing_role, ...).
  returned: always
  type: list
  elements: dict
outcome:
  description: V(restored), V(already_restored), V(standby_prepared), V(planned) (check mode) or V(unchanged_after_error).
  returned: always
  type: str
timings:
  description: Seconds per phase (validate, safety_dump, restore, swap, analyze).
  returned: always
  type: dict
duration_seconds:
  description: Wall time of the module.
  returned: always
  type: float
"""

import contextlib
import glob
import json
import os
import re
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
from ansible_collections.easymo.rollback.plugins.module_utils._pg_archive import (
    ArchiveError,
    cascaded_objects,
    choose_backup,
    classify_errors,
    compare_to_manifest,
    compatibility_problem,
    detect_format,
    filter_toc,
    parse_header,
    parse_toc,
    plan_in_place,
    quote_ident,
    schemas_in,
    toc_list_text,
)
from ansible_collections.easymo.rollback.plugins.module_utils._pg_ops import (
    ClientTools,
    existing_schemas,
    measure_all,
    member_roles,
    objects_in,
    row_counts,
    server_facts,
    sessions_on,
    sha256_of,
    terminate_sessions,
)

try:
    import psycopg2
except ImportError:  # reported through HAS_PSYCOPG2
    pass

STANDBY_TAG = "easymo.rollback standby"


class RestoreError(Exception):
    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


def stamp(now):
    return now.strftime("%Y%m%d%H%M%S")


def read_archive(tools, path):
    """Format from the content, header and TOC from pg_restore --list."""
    is_dir = os.path.isdir(path)
    head = b""
    if not is_dir:
        with open(path, "rb") as fh:
            head = fh.read(600)
    fmt = detect_format(head, is_dir and os.path.exists(os.path.join(path, "toc.dat")))
    if fmt == "plain":
        raise ArchiveError("%s is a plain SQL dump (text); this restores pg_dump archives (-Fc or -Fd). Restore a plain "
                           "dump with psql, or take the backups with db_backup" % path)
    if fmt not in ("custom", "directory"):
        raise ArchiveError("%s is not a pg_dump custom or directory archive (its first bytes are not PGDMP)%s" % (
            path, "; tar archives cannot be restored in parallel or checked cheaply, use -Fc" if fmt == "tar" else ""))
    listing = tools.run("pg_restore", ["--list", path])
    if listing.returncode != 0:
        raise ArchiveError("pg_restore cannot read %s: %s" % (path, listing.stderr.strip()[-400:]))
    header = parse_header(listing.stdout)
    header["format_detected"] = fmt
    return header, parse_toc(listing.stdout)


def choose(module, tools, p):
    if p["backup"]:
        header, toc = read_archive(tools, p["backup"])
        return p["backup"], header, toc, []
    before = None
    if p["deployed_at"]:
        try:
            before = datetime.strptime(p["deployed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise ArchiveError("deployed_at %r is not a UTC time like 2026-12-04T02:55:00Z" % p["deployed_at"])
    candidates, unreadable = [], []
    for path in sorted(glob.glob(os.path.join(p["backup_dir"], "*"))):
        if path.endswith((".sha256", ".json", ".partial")) or not (os.path.isfile(path) or os.path.isdir(path)):
            continue
        try:
            header, toc = read_archive(tools, path)
        except (ArchiveError, OSError) as exc:
            unreadable.append({"path": path, "reason": str(exc)})
            continue
        if header.get("dbname") != p["db"]:
            continue  # another database's backup in the same folder
        candidates.append({"path": path, "created_at": header["created_at"], "header": header, "toc": toc})
    if not candidates:
        raise ArchiveError("no pg_dump archive of the database %s in %s%s" % (p["db"], p["backup_dir"], (
            " (unreadable: %s)" % "; ".join(u["path"] for u in unreadable)) if unreadable else ""))
    chosen = choose_backup(candidates, before)
    return chosen["path"], chosen["header"], chosen["toc"], unreadable


def validate(tools, path, header, facts, verified_sha256=None):
    """sha256 beside the archive, a full read (unless this very file was read fully before), and versions;
    ArchiveError before anything changes."""
    checks = {}
    sha_file = path + ".sha256"
    digest = sha256_of(path) if os.path.isfile(path) else None
    if os.path.isfile(sha_file):
        with open(sha_file, encoding="utf-8") as fh:
            expected = (fh.read().split() or [""])[0]
        if digest != expected:
            raise ArchiveError("%s does not match its sha256 (%s expected, %s found): the file is damaged or not the "
                               "backup that was taken; nothing was changed" % (path, expected, digest))
        checks["sha256"] = "matches %s" % os.path.basename(sha_file)
    else:
        checks["sha256"] = "no .sha256 beside the archive (not compared)"
    if verified_sha256 and digest == verified_sha256:
        checks["full_read"] = "read to its end before traffic was stopped (same sha256)"
        full = None
    else:
        full = tools.run("pg_restore", ["-f", os.devnull, path])
    if full is not None and full.returncode != 0:
        errors = classify_errors(full.stderr)
        raise ArchiveError("%s cannot be read to its end (%s): it is truncated or damaged; nothing was changed, choose "
                           "another backup" % (path, "; ".join(e["message"] for e in errors) or full.stderr.strip()[-300:]))
    checks.setdefault("full_read", "every block read")
    problem = compatibility_problem(header, tools.major or 0, facts["major"])
    if problem:
        raise ArchiveError(problem)
    checks["versions"] = "pg_restore %s, server %s, archive %s" % (tools.major, facts["major"], header.get("dump_version"))
    return digest, checks


def load_manifest(path):
    """The manifest db_backup wrote beside the archive, and its path; (None, None) without one."""
    candidate = path + ".manifest.json"
    if not os.path.isfile(candidate):
        return None, None
    with open(candidate, encoding="utf-8") as fh:
        return json.load(fh), candidate


def matches_manifest(cur, manifest, schemas, counts_first=False, counts_only=False):
    """(same, per-table comparison, extra tables, the exact counts when they were taken)."""
    counts = None
    if counts_first or counts_only:
        # During the downtime: a migrated database usually differs in its tables or counts, found without checksums.
        counts = row_counts(cur, schemas)
        wanted = {name: t["rows"] for name, t in (manifest.get("tables") or {}).items()}
        if counts != wanted:
            compared = [{"table": t, "passed": counts.get(t) == n, "problems": [] if counts.get(t) == n else
                         ["rows %s, expected %s" % (counts.get(t), n)]} for t, n in sorted(wanted.items())]
            return False, compared, sorted(set(counts) - set(wanted)), counts
        if counts_only:
            return True, [], [], counts
    measured = measure_all(cur, schemas)
    compared = compare_to_manifest(manifest, measured)
    extra = sorted(set(measured) - set(manifest.get("tables") or {}))
    return all(c["passed"] for c in compared) and not extra, compared, extra, counts


def safety_dump(tools, p, facts, now, schemas):
    os.makedirs(p["safety_dump_dir"], exist_ok=True)
    path = os.path.join(p["safety_dump_dir"], "%s_safety_%s.dump" % (facts["database"], stamp(now)))
    args = ["-Fc", "-f", path + ".partial"]
    for schema in schemas or []:
        args += ["-n", schema]
    dumped = tools.run("pg_dump", args, database=facts["database"])
    if dumped.returncode != 0:
        with contextlib.suppress(OSError):
            os.unlink(path + ".partial")
        raise RestoreError("The safety dump of %s failed, so nothing was changed: %s" % (
            facts["database"], "; ".join(e["message"] for e in classify_errors(dumped.stderr)) or dumped.stderr.strip()[-300:]))
    os.rename(path + ".partial", path)
    with open(path + ".sha256", "w", encoding="utf-8") as fh:
        fh.write("%s  %s\n" % (sha256_of(path), os.path.basename(path)))
    return path


def fingerprint(cur, schemas):
    """Tables and exact counts: enough to tell "as before" from "as the backup" after a one-transaction restore."""
    return row_counts(cur, schemas)


def after_failure(p, before, manifest, schemas, wait=60):
    """Which state the database is in after a failed restore. One transaction means untouched or fully restored;
    this checks it, waiting for a server that went away (a crash) to come back."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with contextlib.closing(connect(p)) as conn, conn.cursor() as cur:
                now = fingerprint(cur, schemas)
            break
        except psycopg2.Error:
            if time.monotonic() > deadline:
                return ("the server cannot be reached to check the result; the restore ran as one transaction, so once "
                        "the server is back the database is either untouched or fully restored: run db_verify to see which.")
            time.sleep(2)
    if now == before:
        return "was rolled back: the database is exactly as before."
    if manifest and now == {k: v["rows"] for k, v in (manifest.get("tables") or {}).items()}:
        return "yet the database matches the backup exactly: the transaction had committed (fully restored)."
    return "the database is neither as before nor as the backup: check it with db_verify before anything else."


def standby_info(cur, name, now):
    """Disk use and age of a standby (its comment records the backup it was made from)."""
    cur.execute("SELECT pg_database_size(d.oid), shobj_description(d.oid, 'pg_database') FROM pg_database d WHERE datname = %s", (name,))
    size, comment = cur.fetchone()
    made = re.search(r"created_at=(\S+)", comment or "")
    age = None
    if made:
        with contextlib.suppress(ValueError):
            age = round((now - datetime.strptime(made.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)).total_seconds())
    return {"name": name, "size_bytes": size, "backup_age_seconds": age, "comment": comment}


def analyze(p):
    with contextlib.closing(connect(p)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE")


def admin_conn(p):
    conn = connect(dict(p, db="postgres"))
    conn.autocommit = True
    return conn


def swap_in(p, target, fresh, now, sessions_allowed):
    """Rename the fresh database into place; the previous one kept (or dropped) by name."""
    previous = "%s_before_rollback_%s" % (target, stamp(now))
    with contextlib.closing(admin_conn(p)) as conn, conn.cursor() as cur:
        left = sessions_on(cur, target)
        if left and not sessions_allowed:
            raise RestoreError("%d session(s) are connected to %s, so it cannot be renamed: %s; stop them or set "
                               "terminate_sessions" % (len(left), target, ", ".join("%s (%s)" % (s["application"] or "?", s["user"]) for s in left)))
        if left:
            terminate_sessions(cur, target)
        cur.execute("ALTER DATABASE %s RENAME TO %s" % (quote_ident(target), quote_ident(previous)))
        cur.execute("ALTER DATABASE %s RENAME TO %s" % (quote_ident(fresh), quote_ident(target)))
        cur.execute("COMMENT ON DATABASE %s IS NULL" % quote_ident(target))
        if not p["keep_previous"]:
            cur.execute("DROP DATABASE %s" % quote_ident(previous))
            return None
    return previous


def main():
    module = AnsibleModule(
        argument_spec=dict(
            PG_CONNECTION_ARG_SPEC,
            client_bin_dir=dict(type="path"),
            backup=dict(type="path"),
            backup_dir=dict(type="path"),
            deployed_at=dict(type="str"),
            verified_sha256=dict(type="str"),
            mode=dict(type="str", default="atomic", choices=["atomic", "parallel", "standby"]),
            schemas=dict(type="list", elements="str"),
            restore_platform_schemas=dict(type="bool", default=False),
            jobs=dict(type="int", default=2),
            swap=dict(type="bool", default=True),
            keep_previous=dict(type="bool", default=True),
            safety_dump_dir=dict(type="path"),
            accept_losing_writes=dict(type="bool", default=False),
            terminate_sessions=dict(type="bool", default=False),
            lock_timeout=dict(type="int", default=30),
            analyze=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("backup", "backup_dir")],
        required_one_of=[("backup", "backup_dir")],
        required_by={"deployed_at": "backup_dir"},
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    p = module.params
    started = time.monotonic()
    now = datetime.now(timezone.utc)
    timings = {}
    result = dict(changed=False, archive={}, plan={"mode": p["mode"]}, safety_dump=None, sessions={}, errors=[],
                  outcome="unchanged_after_error", timings=timings)

    def fail(msg, **extra):
        result.update(extra)
        result["duration_seconds"] = round(time.monotonic() - started, 2)
        result["summary"] = "Database %s: not restored (%s); safety dump: %s" % (p["db"], msg[:200], result["safety_dump"] or "none")
        module.fail_json(msg=msg, **result)

    def done():
        result["duration_seconds"] = round(time.monotonic() - started, 2)
        result["summary"] = "Database %s: %s from %s (%s); safety dump: %s%s" % (
            p["db"], result["outcome"], result["archive"].get("path"), p["mode"], result["safety_dump"] or "none",
            ("; previous database kept as %s" % result["previous_database"]) if result.get("previous_database") else "")
        module.exit_json(**result)

    if not p["db"]:
        fail("db is required: the database to restore (or PGDATABASE).")
    if not 1 <= p["jobs"] <= 64:
        fail("jobs must be from 1 to 64, got %d." % p["jobs"])
    if p["mode"] == "parallel" and p["db"] == "postgres":
        fail("mode=parallel restores into a fresh database and swaps names; that is impossible for the database "
             "postgres (Supabase's platform services all use it). Use mode=atomic.")
    safety_ok = p["safety_dump_dir"] or p["accept_losing_writes"] or (p["mode"] != "atomic" and p["keep_previous"])
    if not safety_ok:
        fail("No safety dump: set safety_dump_dir (the current state is dumped there before anything is dropped), or "
             "accept_losing_writes=true to lose every write made after the backup. Nothing was changed.")
    try:
        conn = connect(p)
        conn.autocommit = True
    except psycopg2.Error as exc:
        fail("Cannot connect to %s: %s" % (describe_target(p), str(exc).strip()))
    try:
        with conn.cursor() as cur:
            facts = server_facts(cur)
            tools = ClientTools(p, facts["major"])
            t0 = time.monotonic()
            path, header, toc, unreadable = choose(module, tools, p)
            digest, checks = validate(tools, path, header, facts, p["verified_sha256"])
            manifest, manifest_path = load_manifest(path)
            timings["validate"] = round(time.monotonic() - t0, 2)
            result["archive"] = dict(path=path, sha256=digest, header=header, checks=checks, manifest=manifest_path,
                                     unreadable_candidates=unreadable)
            kept, skipped = filter_toc(toc, p["schemas"], p["restore_platform_schemas"],
                                       keep_extensions=facts["superuser"] and p["mode"] != "atomic")
            schemas = p["schemas"] or schemas_in(kept)
            sessions = sessions_on(cur, facts["database"])
            result["sessions"] = {"connected": sessions, "terminated": False}
            counts_now = None
            if manifest and p["mode"] == "atomic":
                same, compared, extra, counts_now = matches_manifest(cur, manifest, schemas, counts_first=True)
                if same:
                    result.update(outcome="already_restored", plan=dict(result["plan"], schemas=schemas,
                                  reason="every table matches the backup's manifest exactly"))
                    done()
            if p["mode"] == "atomic":
                objects = objects_in(cur, schemas)
                members = member_roles(cur, [e["owner"] for e in kept])
                plan = plan_in_place(kept, objects, existing_schemas(cur, schemas), facts["superuser"], members)
                result["plan"] = dict(mode="atomic", schemas=schemas, dropped=plan["dropped"], left_in_place=plan["left_in_place"],
                                      restored_entries=len(plan["entries"]), skipped=skipped + plan["skipped"],
                                      ownership=("restored as %s: the archive's owners %s cannot be taken by it" % (
                                          facts["user"], ", ".join(plan["foreign_owners"])) if plan["no_owner"] else "kept"))
            else:
                plan = None
                result["plan"] = dict(mode=p["mode"], schemas=schemas, restored_entries=len(kept), skipped=skipped, jobs=p["jobs"])
            if sessions and not p["terminate_sessions"] and not module.check_mode and p["mode"] == "atomic":
                who = ", ".join("%s %s as %s" % (s["pid"], s["application"] or "?", s["user"]) for s in sessions)
                fail("%d session(s) are still connected to %s (%s): the restore would wait on their locks. Stop the "
                     "traffic (traffic_scale state=stopped) or set terminate_sessions. Nothing was changed." % (
                         len(sessions), facts["database"], who))
            if module.check_mode:
                result.update(changed=True, outcome="planned")
                done()

            if p["mode"] == "atomic":
                if sessions and p["terminate_sessions"]:
                    terminate_sessions(cur, facts["database"])
                    result["sessions"]["terminated"] = True
                if p["safety_dump_dir"]:
                    t0 = time.monotonic()
                    result["safety_dump"] = safety_dump(tools, p, facts, now, schemas)
                    timings["safety_dump"] = round(time.monotonic() - t0, 2)
                list_path = os.path.join(module.tmpdir, "restore.list")
                with open(list_path, "w", encoding="utf-8") as fh:
                    fh.write(toc_list_text(plan["entries"]))
                before = counts_now if counts_now is not None else fingerprint(cur, schemas)
                preamble = "SET client_min_messages = notice;\nSET lock_timeout = '%ds';\n%s\n" % (p["lock_timeout"], "\n".join(plan["drops"]))
                args = ["-L", list_path] + (["--no-owner"] if plan["no_owner"] else []) + [path]
                t0 = time.monotonic()
                rc, text = tools.restore_through_psql(args, preamble, facts["database"])
                timings["restore"] = round(time.monotonic() - t0, 2)
                result["errors"] = classify_errors(text)
                result["plan"]["cascaded"] = cascaded_objects(text)
                if rc != 0:
                    first = result["errors"][0]["message"] if result["errors"] else text.strip()[-300:]
                    fail("The restore of %s failed and %s First error: %s" % (
                        facts["database"], after_failure(p, before, manifest, schemas), first))
                result.update(changed=True, outcome="restored")
            else:
                target = facts["database"]
                if p["mode"] == "standby":
                    t0 = time.monotonic()
                    cur.execute("SELECT d.datname, shobj_description(d.oid, 'pg_database') FROM pg_database d "
                                "WHERE d.datname LIKE %s ORDER BY d.datname DESC", (target + "_rollback_%",))
                    standbys = [(n, c or "") for n, c in cur.fetchall() if STANDBY_TAG in (c or "")]
                    fresh = next((n for n, c in standbys if ("sha256=%s" % digest) in c), None)
                    if fresh is None:
                        fail("No standby of %s was made from %s (sha256 %s); found: %s. A standby older than the chosen "
                             "backup is never used: restore with mode=parallel or atomic." % (
                                 target, os.path.basename(path), digest, ", ".join("%s (%s)" % s for s in standbys) or "none"))
                    result["plan"]["standby"] = fresh
                    result["plan"]["standby_info"] = standby_info(cur, fresh, now)
                    timings["restore"] = round(time.monotonic() - t0, 2)
                else:
                    fresh = "%s_rollback_%s" % (target, stamp(now))
                    with contextlib.closing(admin_conn(p)) as admin, admin.cursor() as acur:
                        acur.execute("CREATE DATABASE %s TEMPLATE template0" % quote_ident(fresh))
                    list_path = os.path.join(module.tmpdir, "restore.list")
                    with open(list_path, "w", encoding="utf-8") as fh:
                        fh.write(toc_list_text(kept))
                    t0 = time.monotonic()
                    restore_args = ["-j", str(p["jobs"]), "--exit-on-error", "-d", fresh, "-L", list_path]
                    restore_args += ([] if facts["superuser"] else ["--no-owner"]) + [path]
                    parallel_run = tools.run("pg_restore", restore_args, database=fresh)
                    timings["restore"] = round(time.monotonic() - t0, 2)
                    result["errors"] = classify_errors(parallel_run.stderr)
                    if parallel_run.returncode != 0:
                        with contextlib.closing(admin_conn(p)) as admin, admin.cursor() as acur:
                            acur.execute("DROP DATABASE IF EXISTS %s" % quote_ident(fresh))
                        fail("The parallel restore into a fresh database failed (dropped again); %s is untouched. First "
                             "error: %s" % (target, result["errors"][0]["message"] if result["errors"] else parallel_run.stderr.strip()[-300:]))
                    with contextlib.closing(admin_conn(p)) as admin, admin.cursor() as acur:
                        acur.execute("COMMENT ON DATABASE %s IS %%s" % quote_ident(fresh),
                                     ("%s: archive=%s sha256=%s created_at=%s" % (STANDBY_TAG, os.path.basename(path), digest, header["created_at"]),))
                    result["plan"]["standby"] = fresh
                    result["plan"]["standby_info"] = standby_info(cur, fresh, now)
                if manifest:
                    with contextlib.closing(connect(dict(p, db=fresh))) as vconn, vconn.cursor() as vcur:
                        # Exact counts and the table set before the swap (seconds); checksums are db_verify's,
                        # Step 3, and a standby's were checked when it was prepared.
                        same, compared, extra, _counts = matches_manifest(vcur, manifest, schemas, counts_only=p["mode"] == "standby" or p["swap"])
                    if not same:
                        fail("The restored copy %s does not match the backup's manifest (%s); %s is untouched." % (
                            fresh, "; ".join("%s: %s" % (c["table"], ", ".join(c["problems"])) for c in compared if not c["passed"])
                            or "extra tables %s" % ", ".join(extra), target))
                if p["mode"] == "parallel" and not p["swap"]:
                    if p["analyze"]:
                        # A standby is swapped in during the downtime: its statistics are gathered now, not then.
                        t0 = time.monotonic()
                        analyze(dict(p, db=fresh))
                        timings["analyze"] = round(time.monotonic() - t0, 2)
                    result.update(changed=True, outcome="standby_prepared")
                    done()
                conn.close()
                t0 = time.monotonic()
                result["previous_database"] = swap_in(p, target, fresh, now, p["terminate_sessions"])
                result["sessions"]["terminated"] = bool(sessions) and p["terminate_sessions"]
                timings["swap"] = round(time.monotonic() - t0, 2)
                result.update(changed=True, outcome="restored")
        if p["analyze"] and p["mode"] != "standby":  # a standby was analyzed when it was prepared
            t0 = time.monotonic()
            analyze(p)
            timings["analyze"] = round(time.monotonic() - t0, 2)
    except (ArchiveError, RestoreError) as exc:
        fail(str(exc) + ("" if str(exc).endswith(".") else "."))
    except psycopg2.Error as exc:
        fail("Restore of %s failed: %s" % (describe_target(p), str(exc).strip()))
    except (OSError, FileNotFoundError) as exc:
        fail("Restore of %s failed: %s" % (describe_target(p), exc))
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    done()


if __name__ == "__main__":
    main()
